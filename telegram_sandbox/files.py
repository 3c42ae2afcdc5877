"""Files kept in memory, addressed by file_id (for the API) and file_path (for downloads)."""

from __future__ import annotations

import io
import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

# Folder and default extension of each kind, as Telegram lays out file_path.
_LAYOUT = {
    "photo": ("photos", "jpg"),
    "document": ("documents", "bin"),
    "sticker": ("stickers", "webp"),
    "voice": ("voice", "oga"),
    "video": ("videos", "mp4"),
    "animation": ("animations", "mp4"),
    "video_note": ("video_notes", "mp4"),
    "audio": ("music", "mp3"),
}
# Telegram's file_ids start with a type-dependent prefix.
_ID_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "sticker": "CAAC",
    "voice": "AwAC",
    "video": "BAAC",
    "animation": "CgAC",
    "video_note": "DQAC",
    "audio": "CQAC",
}
THUMBNAIL_SIDE = 90
MADE_UP_PHOTO_SIZE = (800, 600)


@dataclass
class StoredFile:
    """One stored file; file_size may be declared larger than the bytes actually kept."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_size: int
    file_path: str
    media: dict[str, Any] | None = None  # the Document/Sticker/... object that carries it

    def as_file(self) -> dict[str, Any]:
        """Return the File object getFile answers with."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) if the bytes are an image Pillow can read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """Return the size of the small preview Telegram makes of a photo."""
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


class FileStore:
    """Every file the sandbox knows, by file_id and by file_path."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self.photos: dict[str, list[dict[str, Any]]] = {}

    def add(
        self, kind: str, data: bytes, *, file_size: int | None = None, extension: str | None = None
    ) -> StoredFile:
        """Store bytes as a new file of a kind and return it."""
        folder, default_extension = _LAYOUT[kind]
        number = next(self._numbers)
        stored = StoredFile(
            file_id=f"{_ID_PREFIX[kind]}AgIAAxkBAA{number:06d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AQAD{number:04d}{secrets.token_urlsafe(6)}",
            kind=kind,
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_path=f"{folder}/file_{number}.{extension or default_extension}",
        )
        self.by_id[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    def add_photo(
        self, data: bytes, dimensions: tuple[int, int], *, file_size: int | None = None
    ) -> list[dict[str, Any]]:
        """Store a photo as a thumbnail and a full size; return its PhotoSize list."""
        width, height = dimensions
        sizes = []
        for (size_width, size_height), size in (
            (thumbnail_size(width, height), len(data)),
            ((width, height), len(data) if file_size is None else file_size),
        ):
            stored = self.add("photo", data, file_size=size)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                    "width": size_width,
                    "height": size_height,
                }
            )
        for size in sizes:
            self.photos[size["file_id"]] = sizes
        return sizes

    def get(self, file_id: str) -> StoredFile | None:
        """Return the file with this file_id."""
        return self.by_id.get(file_id)

    def clear(self) -> None:
        """Forget every file (numbering continues so paths never repeat)."""
        self.by_id.clear()
        self.by_path.clear()
        self.photos.clear()
