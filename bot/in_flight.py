"""Counts updates being handled, so a shutdown can let them finish."""

import asyncio


class InFlight:
    """An async context manager per handled update; `drained()` waits until none is left."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> None:
        self._count += 1
        self._idle.clear()

    async def __aexit__(self, *exc_info) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def drained(self, timeout: float | None) -> bool:
        """Wait for the handlers in progress; False if some were still running at the timeout (None: none)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
