"""The content part of Message objects: text, captions, photos, documents and other media."""

from __future__ import annotations

import mimetypes
import random
from typing import Any

from telegram_sandbox.files import MADE_UP_PHOTO_SIZE, FileStore, StoredFile, image_size

OTHER_KINDS = (
    "sticker",
    "voice",
    "video",
    "animation",
    "location",
    "contact",
    "video_note",
    "audio",
    "poll",
    "dice",
)
# Small made-up payloads so getFile/download work for media a test did not supply.
_PLACEHOLDER_BYTES = b"sandbox placeholder media"


def text_content(text: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the text fields of a message."""
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return content


def caption_content(caption: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the caption fields of a media message (nothing for an empty caption)."""
    content: dict[str, Any] = {}
    if caption:
        content["caption"] = caption
    if caption and entities:
        content["caption_entities"] = entities
    return content


def photo_content(files: FileStore, data: bytes, *, declared_file_size: int | None = None) -> dict[str, Any]:
    """Store a user's photo (any bytes; non-images get made-up dimensions)."""
    dimensions = image_size(data) or MADE_UP_PHOTO_SIZE
    return {"photo": files.add_photo(data, dimensions, file_size=declared_file_size)}


def document_fields(stored: StoredFile, file_name: str | None, mime_type: str | None) -> dict:
    """Return a Document object for a stored file."""
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if file_name:
        document["file_name"] = file_name
    mime_type = mime_type or (mimetypes.guess_type(file_name)[0] if file_name else None)
    if mime_type:
        document["mime_type"] = mime_type
    return document


def document_content(
    files: FileStore,
    data: bytes,
    file_name: str | None,
    mime_type: str | None,
    *,
    declared_file_size: int | None = None,
) -> dict[str, Any]:
    """Store a document and return the message fields for it."""
    extension = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else None
    stored = files.add("document", data, file_size=declared_file_size, extension=extension)
    stored.media = document_fields(stored, file_name, mime_type)
    return {"document": stored.media}


def other_content(files: FileStore, kind: str, data: bytes | None = None) -> dict[str, Any]:
    """Return plausible message fields for a sticker, voice note, location, poll, and so on."""
    if kind == "location":
        return {"location": {"latitude": 52.370216, "longitude": 4.895168}}
    if kind == "contact":
        return {"contact": {"phone_number": "+31201234567", "first_name": "Alex"}}
    if kind == "dice":
        return {"dice": {"emoji": "🎲", "value": random.randint(1, 6)}}
    if kind == "poll":
        return {"poll": _poll()}
    stored = files.add(kind, data or _PLACEHOLDER_BYTES)
    media: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    media.update(_MEDIA_DETAILS[kind])
    stored.media = media
    content = {kind: media}
    if kind == "animation":
        # Telegram also fills `document` for animations, for older clients.
        content["document"] = {**media, "file_name": "animation.mp4"}
        del content["document"]["width"], content["document"]["height"]
        del content["document"]["duration"]
    return content


_MEDIA_DETAILS: dict[str, dict[str, Any]] = {
    "sticker": {
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    },
    "voice": {"duration": 3, "mime_type": "audio/ogg"},
    "video": {"width": 640, "height": 360, "duration": 5, "mime_type": "video/mp4"},
    "animation": {"width": 320, "height": 240, "duration": 2, "mime_type": "video/mp4"},
    "video_note": {"length": 240, "duration": 4},
    "audio": {"duration": 120, "performer": "Sandbox", "title": "Tune", "mime_type": "audio/mpeg"},
}


def _poll() -> dict[str, Any]:
    return {
        "id": str(random.getrandbits(60)),
        "question": "Which option?",
        "options": [
            {"persistent_id": "1", "text": "Yes", "voter_count": 0},
            {"persistent_id": "2", "text": "No", "voter_count": 0},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
