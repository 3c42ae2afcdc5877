"""Which files count as a payment screenshot: judged by their bytes, under a size and a pixel cap."""

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from handlers.events import Attachment
from handlers.evidence.received import Received
from handlers.parsing import InputRejected

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# A very long scrolling screenshot is ~25 MP; decoding 40 MP takes ~160 MB, so it is the most we decode.
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# In a JPEG scan 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; anything else is a marker.
MARKER_AFTER_SCAN = re.compile(rb"\xff(?=[^\x00\xd0-\xd7])")
MAX_JPEG_SEGMENTS = 4096  # real files have a few dozen; this bounds the walk over a crafted one


@dataclass(frozen=True)
class CheckedImage:
    """Bytes proven to be one whole JPEG, PNG or WebP image within the caps."""

    data: bytes
    mime_type: str
    sha256: str


ReceivedImage = Received[CheckedImage]


def check_declared_file(attachment: Attachment, *, is_document: bool) -> None:
    """Refuse, before downloading, what the message already says is not a usable image."""
    if attachment.file_size is not None and attachment.file_size > MAX_IMAGE_BYTES:
        raise too_large()
    if is_document and (attachment.mime_type or "") not in IMAGE_TYPES.values():
        raise InputRejected("screenshot.not_an_image")


def too_large() -> InputRejected:
    """The refusal of a file over MAX_IMAGE_BYTES."""
    return InputRejected("screenshot.too_large", max_mb=MAX_IMAGE_BYTES // (1024 * 1024))


def check_image(data: bytes) -> CheckedImage:
    """Accept one whole JPEG, PNG or WebP with nothing after it, at most MAX_IMAGE_PIXELS, that decodes."""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large()
    image_format = format_by_signature(data)
    if image_format is None:
        raise InputRejected("screenshot.not_an_image")
    try:
        end = END_OF_IMAGE[image_format](data)
    except (IndexError, ValueError) as error:  # cut short, or not built as the format says
        raise InputRejected("screenshot.unreadable") from error
    # Bytes after the image (a ZIP, HTML, a script …) make a polyglot; only zero padding is tolerated.
    if data[end:].strip(b"\0"):
        raise InputRejected("screenshot.unreadable")
    _decode(data, image_format)
    return CheckedImage(data, IMAGE_TYPES[image_format], hashlib.sha256(data).hexdigest())


def format_by_signature(data: bytes) -> str | None:
    """JPEG, PNG or WEBP by the file's first bytes; None for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _decode(data: bytes, image_format: str) -> None:
    """Read the size from the header, refuse it above the pixel cap, then decode every pixel."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise too_many_pixels()
            image.verify()  # chunk checksums and structure
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            image.load()  # every pixel: a truncated or corrupt image fails here
    except InputRejected:
        raise
    except Image.DecompressionBombError as error:  # Pillow's own cap (about 4 times ours) is hit first
        raise too_many_pixels() from error
    except Exception as error:  # Pillow raises many kinds for bytes that do not decode
        raise InputRejected("screenshot.unreadable") from error


def too_many_pixels() -> InputRejected:
    """The refusal of an image over MAX_IMAGE_PIXELS (a decompression bomb, or a huge canvas)."""
    return InputRejected("screenshot.too_many_pixels", max_mp=MAX_IMAGE_PIXELS // 1_000_000)


def _png_end(data: bytes) -> int:
    """Where the IEND chunk ends: chunks are length, type, data and CRC."""
    position = len(PNG_SIGNATURE)
    while True:
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        position += 12 + length
        if position > len(data):
            raise ValueError("PNG cut short")
        if kind == b"IEND":
            return position


def _jpeg_end(data: bytes) -> int:
    """Where the EOI marker ends, walking the segments and the entropy-coded scans between them."""
    position = 2  # after SOI
    for _ in range(MAX_JPEG_SEGMENTS):
        if data[position] != 0xFF:
            raise ValueError("JPEG marker expected")
        while data[position] == 0xFF:  # fill bytes
            position += 1
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            return position
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        length = int.from_bytes(data[position:position + 2], "big")
        if length < 2 or position + length > len(data):
            raise ValueError("JPEG segment cut short")
        position += length
        if marker == 0xDA:  # SOS: compressed data runs to the next marker that is not a restart
            position = _end_of_scan(data, position)
    raise ValueError("too many JPEG segments")


def _end_of_scan(data: bytes, position: int) -> int:
    marker = MARKER_AFTER_SCAN.search(data, position)
    if marker is None:
        raise ValueError("JPEG scan never ends")
    return marker.start()


def _webp_end(data: bytes) -> int:
    """Where the RIFF container ends, as its header says."""
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise ValueError("WebP cut short")
    return end


END_OF_IMAGE: dict[str, Callable[[bytes], int]] = {"PNG": _png_end, "JPEG": _jpeg_end, "WEBP": _webp_end}
