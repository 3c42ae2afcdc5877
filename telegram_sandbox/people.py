"""The accounts in the sandbox: the bot and the people who talk to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class BotIdentity:
    """The bot account the sandbox serves."""

    id: int
    first_name: str
    username: str

    def as_user(self) -> dict[str, Any]:
        """Return the bot as a Telegram User."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}


@dataclass
class User:
    """A person talking to the bot (a test plays them)."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        """Return the person as a Telegram User."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                user[name] = getattr(self, name)
        return user
