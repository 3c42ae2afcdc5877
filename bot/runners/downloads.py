"""What both runtimes' downloaders share: a buffer that stops at the size cap."""

import io

from handlers.ports import FileTooLarge


class CappedBuffer(io.BytesIO):
    """A BytesIO that refuses to grow past `limit` bytes (FileTooLarge)."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def write(self, chunk) -> int:
        """Append a chunk, unless it would pass the limit."""
        if self.tell() + len(chunk) > self.limit:
            raise FileTooLarge(f"file download stopped: more than {self.limit} bytes")
        return super().write(chunk)
