"""Which files count as a payment screenshot."""

import io

from PIL import Image

from handlers.events import Attachment
from handlers.parsing import InputRejected

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def check_declared_file(attachment: Attachment, *, is_document: bool) -> None:
    """Refuse, before downloading, what the message already says is not a usable image."""
    if attachment.file_size is not None and attachment.file_size > MAX_IMAGE_BYTES:
        raise InputRejected("screenshot.too_large", max_mb=MAX_IMAGE_BYTES // (1024 * 1024))
    if is_document and (attachment.mime_type or "") not in IMAGE_TYPES.values():
        raise InputRejected("screenshot.not_an_image")


def image_type_of(data: bytes) -> str:
    """The MIME type of a JPEG, PNG or WebP image, judged by its bytes, not its name."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InputRejected("screenshot.too_large", max_mb=MAX_IMAGE_BYTES // (1024 * 1024))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except Exception as error:  # Pillow raises many kinds for bytes that are not an image
        raise InputRejected("screenshot.not_an_image") from error
    if image_format not in IMAGE_TYPES:
        raise InputRejected("screenshot.not_an_image")
    return IMAGE_TYPES[image_format]
