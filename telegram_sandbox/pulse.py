"""A wake-up signal for waiters that re-check a condition whenever something changed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Pulse:
    """Wakes every current waiter on fire(); waiters re-evaluate their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next fire()."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, ready: Callable[[], T], timeout: float) -> T:
        """Return ready()'s first truthy value, or its last value once timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            result = ready()
            remaining = deadline - loop.time()
            if result or remaining <= 0:
                return result
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return ready()
