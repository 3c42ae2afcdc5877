"""Unused screenshots go after the retention, filed ones stay; one payer's stored screenshots are capped.

The clean-up runs against each evidence store: the local folder and an S3 bucket (moto, over HTTP).
"""

import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from handlers.evidence.cleanup import EvidenceCollector
from storage.models import Conversation, OutboxMessage, OutboxStatus
from storage.outbox import enqueue
from storage.tickets import record_evidence
from tests.evidence.conftest import (
    NOW,
    PAYER,
    Clock,
    DeskPayer,
    Downloads,
    evidence_rows,
    file_ticket,
    image,
    make_desk,
    step_of,
)
from tests.evidence.stores import StoreUnderTest

RETENTION = timedelta(days=7)
OLD, YOUNG = NOW - RETENTION - timedelta(hours=1), NOW - RETENTION + timedelta(hours=1)
colours = iter(range(1, 255))


def picture() -> bytes:
    """A different small image each time."""
    return image("PNG", (12, 12), (next(colours), 0, 0))


async def keep(db, files: StoreUnderTest, *, at: datetime, uploaded_by: int = PAYER.id,
               data: bytes | None = None) -> str:
    """Screenshot bytes stored and recorded as received at `at`."""
    data = data or picture()
    sha256 = await files.store.save(data)
    files.age(sha256, at)
    async with db.transaction() as session:
        await record_evidence(session, sha256=sha256, mime_type="image/png", size=len(data),
                              uploaded_by=uploaded_by, now=at)
    return sha256


async def file_only(files: StoreUnderTest, *, at: datetime) -> str:
    sha256 = await files.store.save(picture())
    files.age(sha256, at)
    return sha256


async def report_in_progress(db, sha256: str, *, user_id: int) -> None:
    async with db.transaction() as session:
        session.add(Conversation(user_id=user_id, chat_id=user_id, step="review", report_key="k",
                                 evidence_sha256=sha256, updated_at=OLD))


async def message_with_photo(db, sha256: str, *, status: OutboxStatus) -> None:
    async with db.transaction() as session:
        await enqueue(session, dedupe_key=f"photo:{sha256}", chat_id=-100, text="answer", not_before=OLD,
                      photo_sha256=sha256)
        await session.exec(update(OutboxMessage).where(OutboxMessage.photo_sha256 == sha256)
                           .values(status=status))


def collector(db, files: StoreUnderTest, **options) -> EvidenceCollector:
    return EvidenceCollector(db, files.store, Clock(NOW), **{"retention": RETENTION, **options})


async def test_unused_screenshots_go_after_the_retention_and_everything_in_use_stays(db, stores):
    files = stores
    filed = await keep(db, files, at=OLD)
    await file_ticket(db, filed)
    abandoned = await keep(db, files, at=OLD)
    young = await keep(db, files, at=YOUNG)
    in_progress = await keep(db, files, at=OLD, uploaded_by=2002)
    await report_in_progress(db, in_progress, user_id=2002)
    unsent = await keep(db, files, at=OLD)
    await message_with_photo(db, unsent, status=OutboxStatus.PENDING)
    sent = await keep(db, files, at=OLD)
    await message_with_photo(db, sent, status=OutboxStatus.SENT)
    stray = await file_only(files, at=OLD)
    young_stray = await file_only(files, at=YOUNG)
    filed_without_row = await file_only(files, at=OLD)
    await file_ticket(db, filed_without_row, number=2)
    if files.root is not None:  # a crash mid-write; an S3 PUT is atomic and leaves nothing
        half_written = files.root / "ab" / ".incoming-crashed"
        half_written.parent.mkdir(parents=True, exist_ok=True)
        half_written.write_bytes(b"\x89PNG")
        os.utime(half_written, (OLD.timestamp(), OLD.timestamp()))

    sizes = {sha256: files.size(sha256) for sha256 in (abandoned, sent, stray)}

    cleanup = await collector(db, files).collect()

    assert {(row.sha256, row.size, row.uploaded_by) for row in cleanup.rows} == {
        (abandoned, sizes[abandoned], PAYER.id), (sent, sizes[sent], PAYER.id)
    }
    assert cleanup.files_without_row == [stray]
    if files.root is not None:
        assert cleanup.half_written_files == 1 and not half_written.exists()
    assert cleanup.bytes_freed == sum(sizes.values())
    assert set(files.hashes()) == {filed, young, in_progress, unsent, young_stray, filed_without_row}
    assert {row.sha256 for row in await evidence_rows(db)} == {filed, young, in_progress, unsent}
    assert (await collector(db, files).collect()).rows == []  # nothing more to do


async def test_a_screenshot_received_again_counts_from_then(db, stores):
    files = stores
    data = picture()
    sha256 = await keep(db, files, at=OLD, uploaded_by=PAYER.id, data=data)
    assert await files.store.save(data) == sha256  # another payer sends the very same bytes: touched …
    async with db.transaction() as session:  # … and the row moves to now, its first sender kept
        await record_evidence(session, sha256=sha256, mime_type="image/png", size=len(data), uploaded_by=3003,
                              now=NOW)
    assert (await collector(db, files).collect()).rows == []
    [row] = await evidence_rows(db)
    assert (row.uploaded_by, row.created_at) == (PAYER.id, NOW)
    assert files.hashes() == [sha256]


async def test_many_are_removed_in_small_transactions(db, stores):
    files = stores
    abandoned = {await keep(db, files, at=OLD) for _ in range(5)}
    cleanup = await collector(db, files, batch=2).collect()
    assert {row.sha256 for row in cleanup.rows} == abandoned
    assert await evidence_rows(db) == [] and files.hashes() == []


async def test_retention_off_keeps_every_screenshot(db, stores):
    files = stores
    kept = {await keep(db, files, at=OLD), await file_only(files, at=OLD)}
    cleanup = await collector(db, files, retention=None).collect()
    assert cleanup.rows == [] and cleanup.files_without_row == []
    assert set(files.hashes()) == kept


# --- the per-payer quota, at the desk ---------------------------------------------------------


async def fill_quota(db, *, quota: int, user_id: int = PAYER.id, leave: int) -> list[str]:
    """Two stored screenshots of the payer, on no ticket, leaving `leave` bytes of the quota."""
    shas = [f"{user_id:032x}{n:032x}" for n in range(1, 3)]
    sizes = [(quota - leave) // 2, quota - leave - (quota - leave) // 2]
    async with db.transaction() as session:
        for sha256, size in zip(shas, sizes, strict=True):
            await record_evidence(session, sha256=sha256, mime_type="image/png", size=size,
                                  uploaded_by=user_id, now=YOUNG)
    return shas


QUOTA = 1024 * 1024


async def test_a_screenshot_past_the_payers_quota_is_refused(db, tmp_path, stores):
    shot = picture()
    await fill_quota(db, quota=QUOTA, leave=len(shot) - 1)
    payer = DeskPayer(make_desk(db, tmp_path, Downloads({"shot": shot}), evidence=stores.store,
                                evidence_quota_bytes=QUOTA))
    await payer.reach_screenshot_step()
    reply = await payer.photo("shot")
    refusal = payer.says("screenshot.quota_full", max_mb=1)
    assert reply.text == f"⚠️ {refusal}\n\n{payer.says('ask.screenshot')}"
    assert "1 MB" in reply.text
    assert await step_of(db) == "screenshot"
    assert len(await evidence_rows(db)) == 2 and stores.hashes() == []


async def test_exactly_at_the_quota_is_accepted(db, tmp_path):
    shot = picture()
    await fill_quota(db, quota=QUOTA, leave=len(shot))
    payer = DeskPayer(make_desk(db, tmp_path, Downloads({"shot": shot}), evidence_quota_bytes=QUOTA))
    await payer.reach_screenshot_step()
    assert (await payer.photo("shot")).text.startswith(payer.says("ack.screenshot"))


async def test_filed_screenshots_and_other_payers_do_not_count(db, tmp_path):
    shot = picture()
    filed, _ = await fill_quota(db, quota=QUOTA, leave=len(shot) - 1)
    await file_ticket(db, filed)
    await fill_quota(db, quota=QUOTA, user_id=2002, leave=0)
    payer = DeskPayer(make_desk(db, tmp_path, Downloads({"shot": shot}), evidence_quota_bytes=QUOTA))
    await payer.reach_screenshot_step()
    assert (await payer.photo("shot")).text.startswith(payer.says("ack.screenshot"))


async def test_bytes_already_stored_take_no_more_room(db, tmp_path):
    shot = picture()
    await keep(db, StoreUnderTest.local(tmp_path / "evidence"), at=YOUNG, data=shot)
    async with db.transaction() as session:
        await record_evidence(session, sha256="f" * 64, mime_type="image/png", size=QUOTA,
                              uploaded_by=PAYER.id, now=YOUNG)
    payer = DeskPayer(make_desk(db, tmp_path, Downloads({"shot": shot}), evidence_quota_bytes=QUOTA))
    await payer.reach_screenshot_step()
    assert (await payer.photo("shot")).text.startswith(payer.says("ack.screenshot"))


@pytest.mark.parametrize("cancel", [True, False])
async def test_a_cancelled_reports_screenshot_goes_after_the_retention(db, tmp_path, cancel, stores):
    clock = Clock(NOW)
    shot = picture()
    desk = make_desk(db, tmp_path, Downloads({"shot": shot}), clock=clock, evidence=stores.store)
    payer = DeskPayer(desk)
    await payer.reach_screenshot_step()
    await payer.photo("shot")
    if cancel:
        await payer.press("cancel")
    [sha256] = stores.hashes()
    stores.age(sha256, NOW)
    later = Clock(NOW + RETENTION + timedelta(minutes=1))
    cleanup = await EvidenceCollector(db, desk.evidence, later, RETENTION).collect()
    gone = [row.sha256 for row in cleanup.rows]
    assert gone == ([sha256] if cancel else [])
    assert stores.hashes() == ([] if cancel else [sha256])
