"""Telegram's flood limits as sliding windows over accepted sends."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RateLimits:
    """Flood limits; None disables a limit. Exceeding one gets 429 with retry_after."""

    global_per_second: float | None = 30
    per_chat_per_second: float | None = 1  # private chats
    per_group_per_minute: int | None = 20  # groups/supergroups (chat id < 0)
    # Sends with allow_paid_broadcast count against this instead of global_per_second.
    paid_broadcast_per_second: float | None = 1000


class SlidingWindow:
    """At most `capacity` events in any `seconds`-long window."""

    def __init__(self, capacity: int, seconds: float):
        self.capacity = capacity
        self.seconds = seconds
        self.events: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Return how long until one more event fits (0 when it fits now)."""
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()
        if len(self.events) < self.capacity:
            return 0.0
        return self.events[len(self.events) - self.capacity] + self.seconds - now

    def record(self, now: float) -> None:
        """Count one accepted event."""
        self.events.append(now)


def window_for_rate(per_second: float) -> SlidingWindow:
    """Return a window enforcing a per-second rate (slow rates get longer windows)."""
    seconds = max(1.0, 1.0 / per_second)
    return SlidingWindow(max(1, math.floor(per_second * seconds)), seconds)


class RateLimiter:
    """Checks and records sends against the global, per-chat and per-group windows."""

    def __init__(self, limits: RateLimits | None, clock: Callable[[], float]):
        self.limits = limits
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every recorded send."""
        limits = self.limits
        self._global = (
            window_for_rate(limits.global_per_second) if limits and limits.global_per_second else None
        )
        self._paid = (
            window_for_rate(limits.paid_broadcast_per_second)
            if limits and limits.paid_broadcast_per_second else None
        )
        self._chats: dict[int, SlidingWindow] = {}

    def retry_after(self, chat_id: int | None, paid: bool = False) -> int | None:
        """Return the retry_after a send to chat_id must wait for, or None if it may go now."""
        now = self.clock()
        waits = [window.wait_needed(now) for window in self._windows(chat_id, paid)]
        longest = max(waits, default=0.0)
        return max(1, math.ceil(longest)) if longest > 0 else None

    def record(self, chat_id: int | None, paid: bool = False) -> None:
        """Count an accepted send to chat_id (a paid broadcast's against the paid rate)."""
        now = self.clock()
        for window in self._windows(chat_id, paid):
            window.record(now)

    def _windows(self, chat_id: int | None, paid: bool = False) -> list[SlidingWindow]:
        overall = self._paid if paid else self._global
        windows = [overall] if overall else []
        chat_window = self._chat_window(chat_id) if chat_id is not None else None
        if chat_window:
            windows.append(chat_window)
        return windows

    def _chat_window(self, chat_id: int) -> SlidingWindow | None:
        window = self._chats.get(chat_id)
        if window is None and self.limits:
            if chat_id < 0 and self.limits.per_group_per_minute:
                window = SlidingWindow(self.limits.per_group_per_minute, 60.0)
            elif chat_id > 0 and self.limits.per_chat_per_second:
                window = window_for_rate(self.limits.per_chat_per_second)
            if window:
                self._chats[chat_id] = window
        return window
