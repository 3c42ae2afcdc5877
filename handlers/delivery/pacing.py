"""Sending turns: the bot's global rate, each chat's spacing and the 429 pause, behind one port."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol


class RateGate(Protocol):
    """Who may send next: one gate per bot, however many processes share it."""

    async def wait_turn(self, chat_id: int, *, paid: bool = False) -> None:
        """Wait until a message to `chat_id` may go (rate, chat spacing, 429 pause) and take that turn.

        `paid`: a paid broadcast's turn, at the paid rate of its own.
        """
        ...

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds`."""
        ...

    async def paused_for(self) -> float:
        """Seconds left of the current 429 pause (0 when none)."""
        ...


class Pacer:
    """Hands out turns `1 / rate` seconds apart, each caller the next free slot.

    The slots are fixed in advance, so a late wake-up of the event loop does not push every later turn back
    (a leaky bucket of capacity one loses that time for good, about a tenth of the rate on a busy machine).
    After a pause longer than one slot the schedule starts afresh: never a burst to catch up.
    """

    def __init__(self, rate_per_second: float, monotonic: Callable[[], float] = time.monotonic):
        self.period = 1 / rate_per_second
        self._monotonic = monotonic
        self._next = float("-inf")

    async def acquire(self) -> None:
        """Wait for this caller's turn."""
        now = self._monotonic()
        if self._next < now - self.period:
            self._next = now
        turn, self._next = self._next, self._next + self.period
        if turn > now:
            await asyncio.sleep(turn - now)


class LocalGate:
    """The gate of one process: a Pacer, each chat's last send, and this process's 429 pause."""

    def __init__(self, rate_per_second: float, per_chat_interval: float, paid_rate: float | None = None):
        self.pacer = Pacer(rate_per_second)
        self.paid_pacer = Pacer(paid_rate) if paid_rate else self.pacer
        self.per_chat_interval = per_chat_interval
        self._last_send: dict[int, float] = defaultdict(lambda: float("-inf"))
        self._paused_until = 0.0

    async def wait_turn(self, chat_id: int, *, paid: bool = False) -> None:
        """Wait for the chat's spacing and any pause, then for the next slot of the rate."""
        pacer = self.paid_pacer if paid else self.pacer
        while True:
            wait = self._wait_needed(chat_id)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await pacer.acquire()
            if self._wait_needed(chat_id) <= 0:  # a 429 may have arrived while we queued for the pacer
                self._last_send[chat_id] = time.monotonic()
                return

    async def pause(self, seconds: float) -> None:
        """Hold every turn of this process for `seconds`."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def paused_for(self) -> float:
        """Seconds left of this process's pause."""
        return max(0.0, self._paused_until - time.monotonic())

    def _wait_needed(self, chat_id: int) -> float:
        now = time.monotonic()
        return max(self._paused_until - now, self._last_send[chat_id] + self.per_chat_interval - now)
