"""The bot's update queue: ids, confirmation by offset, allowed_updates and long polling."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from telegram_sandbox.errors import ApiError
from telegram_sandbox.pulse import Pulse

# Telegram delivers these only when allowed_updates asks for them explicitly.
OPT_IN_TYPES = {"chat_member", "message_reaction", "message_reaction_count"}
MAX_LIMIT = 100


class UpdateQueue:
    """Pending updates; getUpdates returns them until an offset confirms them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.pending: list[dict[str, Any]] = []
        self.allowed: set[str] | None = None
        self.pulse = Pulse()
        self.closing = False
        self._latest_poll = 0

    def accepts(self, kind: str) -> bool:
        """Return whether an update of this kind is stored under the current allowed_updates."""
        if self.allowed is None:
            return kind not in OPT_IN_TYPES
        return kind in self.allowed

    def push(self, kind: str, payload: dict[str, Any], *, twice: bool = False) -> int | None:
        """Queue an update (twice with the same update_id to mimic re-delivery); return its id."""
        if not self.accepts(kind):
            return None
        update_id = next(self._ids)
        update = {"update_id": update_id, kind: copy.deepcopy(payload)}
        self.pending.append(update)
        if twice:
            self.pending.append(copy.deepcopy(update))
        self.pulse.fire()
        return update_id

    def confirm(self, offset: int) -> None:
        """Forget updates below a positive offset, or all but the last -offset ones."""
        if offset > 0:
            self.pending = [update for update in self.pending if update["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates for updates created from now on ([] restores the default)."""
        if allowed is not None:
            self.allowed = set(allowed) or None

    async def poll(self, offset: int, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Confirm by offset, then return pending updates, waiting up to timeout for one."""
        self.confirm(offset)
        limit = min(max(limit, 1), MAX_LIMIT)
        self._latest_poll += 1
        this_poll = self._latest_poll
        self.pulse.fire()  # an older long poll must notice it has been superseded

        def ready() -> list[dict[str, Any]] | bool:
            if this_poll != self._latest_poll:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            return self.closing or self.pending[:limit]

        result = await self.pulse.wait_for(ready, timeout)
        return result if isinstance(result, list) else []

    def drop_pending(self) -> None:
        """Forget every pending update (ids keep increasing)."""
        self.pending.clear()

    def close(self) -> None:
        """End every long poll now, returning no updates."""
        self.closing = True
        self.pulse.fire()
