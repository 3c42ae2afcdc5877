"""The Bot API method table: adding a method is one decorated function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState

Handler = Callable[[SandboxState, Params], Any]


@dataclass(frozen=True)
class BotMethod:
    """A Bot API method; `sends` marks send/edit methods (rate limits, "*" faults)."""

    name: str
    handler: Handler
    sends: bool = False


METHODS: dict[str, BotMethod] = {}


def bot_method(name: str, *, sends: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler under a Bot API method name (matched case-insensitively)."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = BotMethod(name, handler, sends)
        return handler

    return register


def find_method(name: str) -> BotMethod | None:
    """Return the method called `name`, ignoring case like Telegram."""
    return METHODS.get(name.lower())
