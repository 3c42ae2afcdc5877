"""Screenshot bytes on disk, addressed by their SHA-256."""

import hashlib
import os
import tempfile
from pathlib import Path


class EvidenceFiles:
    """A content-addressed folder: the same bytes are stored once, under their hash."""

    def __init__(self, root: Path):
        self.root = root

    def path_of(self, sha256: str) -> Path:
        """Where the bytes with this hash live."""
        return self.root / sha256[:2] / sha256

    def save(self, data: bytes) -> str:
        """Write the bytes (atomically, once) and return their SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
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

    def load(self, sha256: str) -> bytes:
        """Read stored bytes back."""
        return self.path_of(sha256).read_bytes()
