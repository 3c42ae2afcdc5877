"""Screenshot bytes on disk, addressed by their SHA-256: the default evidence store."""

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

SHA256_NAME = re.compile(r"[0-9a-f]{64}")
INCOMING_PREFIX = ".incoming-"


class EvidenceFiles:
    """A content-addressed folder: the same bytes are stored once, under their hash.

    Small writes and reads run inline (as fast as a thread hand-off); the folder scan runs in a thread.
    """

    def __init__(self, root: Path):
        self.root = root

    def path_of(self, sha256: str) -> Path:
        """Where the bytes with this hash live."""
        return self.root / sha256[:2] / sha256

    async def save(self, data: bytes) -> str:
        """Write the bytes (atomically, once) and return their SHA-256; stored bytes are only touched."""
        return self._save(data)

    async def load(self, sha256: str) -> bytes:
        """Read stored bytes back; FileNotFoundError if there are none."""
        return self.path_of(sha256).read_bytes()

    async def delete(self, sha256: str, *, unless_modified_after: datetime) -> int | None:
        """Remove the bytes unless written or received again since then; their size, or None if kept."""
        return _unlink_if_older(self.path_of(sha256), unless_modified_after)

    def _save(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha256)
        try:
            os.utime(target)  # the clean-up spares files received again within the retention
            return sha256
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=INCOMING_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    async def hashes_older_than(self, moment: datetime) -> list[str]:
        """The hashes of stored files last written or received before `moment`."""
        return await asyncio.to_thread(lambda: list(self.files_older_than(moment)))

    def files_older_than(self, moment: datetime) -> Iterator[str]:
        """The hashes of stored files last written or received before `moment`."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for path in folder.iterdir():
                if SHA256_NAME.fullmatch(path.name) and _modified_before(path, moment):
                    yield path.name

    async def delete_abandoned_writes(self, *, older_than: datetime) -> int:
        """Remove half-written temporary files a crash left behind; how many."""
        return await asyncio.to_thread(self._delete_abandoned_writes, older_than)

    def _delete_abandoned_writes(self, older_than: datetime) -> int:
        removed = [_unlink_if_older(path, older_than) for path in self.root.glob(f"??/{INCOMING_PREFIX}*")]
        return sum(size is not None for size in removed)


def _modified_before(path: Path, moment: datetime) -> bool:
    try:
        return path.stat().st_mtime < moment.timestamp()
    except FileNotFoundError:
        return False


def _unlink_if_older(path: Path, moment: datetime) -> int | None:
    try:
        status = path.stat()
        if status.st_mtime >= moment.timestamp():
            return None
        path.unlink()
    except FileNotFoundError:
        return None
    return status.st_size
