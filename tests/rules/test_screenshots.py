"""A screenshot is accepted only if its bytes are one whole JPEG, PNG or WebP within the caps."""

import os

import pytest

from handlers.evidence.images import MAX_IMAGE_PIXELS, check_image
from handlers.parsing import InputRejected
from tests.evidence.conftest import image, png_bomb

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def jpeg_with_exif_thumbnail() -> bytes:
    """A JPEG whose APP1 segment holds another JPEG (its own end marker comes before the real one)."""
    main, thumbnail = image("JPEG"), image("JPEG", (8, 8))
    app1 = b"Exif\0\0" + thumbnail
    return main[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + main[2:]


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (image("PNG"), "image/png"),
        (image("JPEG"), "image/jpeg"),
        (image("JPEG", progressive=True), "image/jpeg"),
        (image("JPEG", (64, 64), restart_marker_blocks=1), "image/jpeg"),
        (jpeg_with_exif_thumbnail(), "image/jpeg"),
        (image("WEBP"), "image/webp"),
        (image("WEBP", lossless=True), "image/webp"),
        (image("PNG") + b"\0" * 16, "image/png"),  # zero padding some tools add is harmless
    ],
    ids=["png", "jpeg", "progressive", "restarts", "exif-thumbnail", "webp", "webp-lossless", "padded"],
)
def test_whole_small_images_are_accepted(data, mime_type):
    checked = check_image(data)
    assert checked.mime_type == mime_type and checked.data == data and len(checked.sha256) == 64


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = png_bomb(12000, 12000)
    assert len(bomb) < 100
    with pytest.raises(InputRejected) as refused:
        check_image(bomb)
    assert refused.value.key == "screenshot.too_many_pixels"
    assert refused.value.params == {"max_mp": MAX_IMAGE_PIXELS // 1_000_000}


@pytest.mark.parametrize("size", [(5000, 8001), (20000, 20000)], ids=["just-over-cap", "over-pillow-cap"])
def test_every_canvas_over_the_pixel_cap_is_refused(size):
    with pytest.raises(InputRejected) as refused:
        check_image(png_bomb(*size))
    assert refused.value.key == "screenshot.too_many_pixels"


def test_the_cap_counts_pixels_of_the_header(monkeypatch):
    monkeypatch.setattr("handlers.evidence.images.MAX_IMAGE_PIXELS", 40 * 60)
    assert check_image(image("PNG", (40, 60))).mime_type == "image/png"
    with pytest.raises(InputRejected) as refused:
        check_image(image("JPEG", (40, 61)))
    assert refused.value.key == "screenshot.too_many_pixels"


@pytest.mark.parametrize(
    "data",
    [
        image("JPEG") + b"PK\x03\x04" + os.urandom(64) + b"<html><script>alert(1)</script></html>",
        image("PNG") + b"<script>fetch('//evil')</script>",
        image("WEBP") + b"#!/bin/sh\nrm -rf /\n",
        image("PNG", (200, 200))[:-30],
        image("JPEG", (200, 200))[:-100],
        image("JPEG", (200, 200))[:-2],
        b"\x89PNG\r\n\x1a\n" + os.urandom(300),
        b"\xff\xd8\xff" + os.urandom(300),
        b"RIFF\x10\x00\x00\x00WEBP" + os.urandom(8),
        b"\xff\xd8" + b"\xff\xfe\x00\x02" * 1_000_000,  # a million empty comments
        b"\xff\xd8\xff\xda\x00\x02" + b"\xff\x00" * 2_000_000,  # a scan that never ends
    ],
    ids=["jpeg+zip+html", "png+script", "webp+shell", "cut-png", "cut-jpeg", "jpeg-without-end",
         "png-magic-noise", "jpeg-magic-noise", "webp-magic-noise", "segment-flood", "endless-scan"],
)
def test_polyglots_truncated_and_corrupt_images_are_unreadable(data):
    with pytest.raises(InputRejected) as refused:
        check_image(data)
    assert refused.value.key == "screenshot.unreadable"


@pytest.mark.parametrize("data", [image("GIF"), image("BMP"), b"%PDF-1.4", b"", b"<html>"])
def test_other_formats_are_not_images_we_use(data):
    with pytest.raises(InputRejected) as refused:
        check_image(data)
    assert refused.value.key == "screenshot.not_an_image"


def test_more_than_10_mb_is_refused_before_any_parsing():
    with pytest.raises(InputRejected) as refused:
        check_image(image("PNG") + b"\0" * (10 * 1024 * 1024))
    assert refused.value.key == "screenshot.too_large"
