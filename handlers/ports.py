"""What the handlers need from the outside world, implemented by the runtimes in bot/."""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

Clock = Callable[[], datetime]


class FileDownloader(Protocol):
    """Fetches the bytes of a file the user sent (getFile + download)."""

    async def download(self, file_id: str) -> bytes:
        """Return the file's bytes."""
        ...


class FileUnavailable(Exception):
    """The file could not be fetched (too big for getFile, expired, or a network error)."""
