"""The screenshot step at the payer desk: bad images are refused in words, good ones kept; nothing is
downloaded while a database transaction is open."""

import asyncio
import os

import pytest

from handlers.events import Attachment, EventKind, Person
from handlers.evidence.images import MAX_IMAGE_BYTES
from storage.conversations import lock_conversation
from storage.evidence_files import EvidenceFiles
from storage.models import Ticket
from storage.outbox import messages_to
from tests.conftest import make_sqlite
from tests.evidence.conftest import (
    NOW,
    PAYER,
    DeskPayer,
    Downloads,
    evidence_rows,
    image,
    make_desk,
    png_bomb,
    step_of,
    stored_files,
)
from tests.lifecycle.conftest import SUPPORT_CHAT, make_policy

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


@pytest.fixture
async def sqlite_db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


BAD_IMAGES = {
    "bomb": (png_bomb(12000, 12000), "screenshot.too_many_pixels", {"max_mp": 40}),
    "jpeg+zip+html": (image("JPEG") + b"PK\x03\x04" + os.urandom(40) + b"<html><script>x()</script>",
                      "screenshot.unreadable", {}),
    "png+script": (image("PNG") + b"<script>alert(1)</script>", "screenshot.unreadable", {}),
    "cut-jpeg": (image("JPEG", (120, 120))[:-60], "screenshot.unreadable", {}),
    "cut-png": (image("PNG", (120, 120))[:-20], "screenshot.unreadable", {}),
    "png-magic-noise": (b"\x89PNG\r\n\x1a\n" + os.urandom(200), "screenshot.unreadable", {}),
    "lying-size": (image("PNG") + b"\0\1" * (MAX_IMAGE_BYTES // 2), "screenshot.too_large", {"max_mb": 10}),
}


@pytest.mark.parametrize("name", BAD_IMAGES)
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_bad_image_is_refused_in_words_and_the_question_stands(sqlite_db, tmp_path, name, language):
    data, key, params = BAD_IMAGES[name]
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, Downloads({"bad": data})),
                      Person(PAYER.id, first_name="Ann", language_code=language))
    await payer.reach_screenshot_step()
    reply = await payer.photo("bad")
    assert reply.text == f"⚠️ {payer.says(key, **params)}\n\n{payer.says('ask.screenshot')}"
    assert await step_of(sqlite_db) == "screenshot"
    assert await evidence_rows(sqlite_db) == [] and stored_files(tmp_path) == []


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
async def test_a_good_image_is_kept_by_hash_with_its_sender(sqlite_db, tmp_path, kind):
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, Downloads({"shot": image(kind)})))
    await payer.reach_screenshot_step()
    mime = f"image/{kind.lower()}"
    reply = await payer.document("shot", mime_type=mime)
    assert reply.text.startswith(payer.says("ack.screenshot"))
    assert await step_of(sqlite_db) == "review"
    [row] = await evidence_rows(sqlite_db)
    assert (row.mime_type, row.size, row.uploaded_by) == (mime, len(image(kind)), PAYER.id)
    assert stored_files(tmp_path) == [row.sha256]


async def test_a_failed_download_asks_for_the_screenshot_again(sqlite_db, tmp_path):
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, Downloads()))
    await payer.reach_screenshot_step()
    reply = await payer.photo("expired")
    assert reply.text == f"⚠️ {payer.says('screenshot.download_failed')}\n\n{payer.says('ask.screenshot')}"
    assert await step_of(sqlite_db) == "screenshot"


async def test_only_an_image_the_report_waits_for_is_downloaded(sqlite_db, tmp_path):
    files = Downloads({"early": image("PNG"), "first": image("PNG", (10, 10)), "second": image("JPEG")})
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, files))
    await payer.photo("early")  # at the menu, nobody asked for anything
    await payer.command("report")
    await payer.photo("early")  # at the order step
    assert files.asked == []
    await payer.press("no_order")
    await payer.text("99")
    await payer.press("day", "today")
    await payer.photo("first", media_group_id="album")
    later = Attachment("second", file_size=500)
    assert await payer.send(EventKind.PHOTO, attachment=later, media_group_id="album") == []
    assert files.asked == ["first"]  # the rest of the album is ignored, and not fetched


async def test_a_declared_size_over_the_cap_is_not_downloaded(sqlite_db, tmp_path):
    files = Downloads({"big": image("PNG")})
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, files))
    await payer.reach_screenshot_step()
    [reply] = await payer.send(EventKind.PHOTO, attachment=Attachment("big", file_size=MAX_IMAGE_BYTES + 1))
    assert payer.says("screenshot.too_large", max_mb=10) in reply.text
    assert files.asked == []


class WatchfulDownloads(Downloads):
    """Downloads that check, while "on the network", that the payer's conversation row is not held by an
    open transaction (on SQLite: that the one-writer lock is free)."""

    def __init__(self, db, files):
        super().__init__(files)
        self.db = db
        self.inside_a_transaction: list[str] = []

    async def download(self, file_id: str) -> bytes:
        # Held by this update's own transaction, the lock would never come; a loaded machine may take a while.
        try:
            async with asyncio.timeout(3):
                async with self.db.transaction() as session:
                    await lock_conversation(session, user_id=PAYER.id, chat_id=PAYER.id, now=NOW)
        except TimeoutError:
            self.inside_a_transaction.append(file_id)
        return await super().download(file_id)


async def test_the_screenshot_is_downloaded_with_no_transaction_open(db, tmp_path):
    files = WatchfulDownloads(db, {"shot": image("PNG")})
    payer = DeskPayer(make_desk(db, tmp_path, files))
    await payer.reach_screenshot_step()
    reply = await payer.photo("shot")
    assert files.asked == ["shot"] and files.inside_a_transaction == []
    assert reply.text.startswith(payer.says("ack.screenshot"))
    assert [row.uploaded_by for row in await evidence_rows(db)] == [PAYER.id]


class WatchfulStore(EvidenceFiles):
    """An evidence store that checks, while "writing to S3", that the conversation row is not held."""

    def __init__(self, db, root):
        super().__init__(root)
        self.db = db
        self.inside_a_transaction: list[str] = []

    async def save(self, data: bytes) -> str:
        try:
            async with asyncio.timeout(3):
                async with self.db.transaction() as session:
                    await lock_conversation(session, user_id=PAYER.id, chat_id=PAYER.id, now=NOW)
        except TimeoutError:
            self.inside_a_transaction.append("save")
        return await super().save(data)


async def test_the_screenshot_is_stored_with_no_transaction_open(db, tmp_path):
    store = WatchfulStore(db, tmp_path / "evidence")
    payer = DeskPayer(make_desk(db, tmp_path, Downloads({"shot": image("PNG")}), evidence=store))
    await payer.reach_screenshot_step()
    assert (await payer.photo("shot")).text.startswith(payer.says("ack.screenshot"))
    assert store.inside_a_transaction == [] and len(list(store.root.glob("*/*"))) == 1


class CancellingDownloads(Downloads):
    """While the photo downloads, the payer cancels the report in another update."""

    payer: DeskPayer

    async def download(self, file_id: str) -> bytes:
        async with asyncio.timeout(1):  # inside a transaction this update would wait for the row forever
            await self.payer.command("cancel")
        return await super().download(file_id)


async def test_bytes_fetched_for_a_step_that_has_passed_are_not_used(db, tmp_path):
    files = CancellingDownloads({"shot": image("PNG")})
    payer = files.payer = DeskPayer(make_desk(db, tmp_path, files))
    await payer.reach_screenshot_step()
    reply = await payer.photo("shot")
    assert files.asked == ["shot"]
    assert payer.says("ack.screenshot") not in reply.text
    assert await step_of(db) is None
    assert await evidence_rows(db) == [] and stored_files(tmp_path) == []


async def test_a_photo_answering_support_is_downloaded_with_no_transaction_open(db, tmp_path):
    async with db.transaction() as session:
        session.add(Ticket(reference="RF-ASK00001", user_id=PAYER.id, chat_id=PAYER.id, locale="en",
                           amount_minor=9900, currency="CNY", paid_at=NOW, status="needs_info",
                           report_key="asked", created_at=NOW, updated_at=NOW))
    files = WatchfulDownloads(db, {"answer": image("JPEG"), "noise": b"\x89PNG\r\n\x1a\n" + os.urandom(99)})
    payer = DeskPayer(make_desk(db, tmp_path, files, policy=make_policy()))
    refused = await payer.photo("noise")
    assert refused.text == payer.says("screenshot.unreadable")
    reply = await payer.photo("answer")
    assert reply.text == payer.says("notice.answer_received", reference="RF-ASK00001")
    assert files.asked == ["noise", "answer"] and files.inside_a_transaction == []
    [row] = await evidence_rows(db)
    assert row.uploaded_by == PAYER.id
    async with db.transaction() as session:
        relayed = [m for m in await messages_to(session, chat_id=SUPPORT_CHAT) if m.photo_sha256]
    assert [m.photo_sha256 for m in relayed] == [row.sha256]
