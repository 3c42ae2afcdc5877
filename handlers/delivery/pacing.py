"""Evenly spaced sending turns at a fixed rate, kept on an absolute schedule."""

import asyncio
import time
from collections.abc import Callable


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
