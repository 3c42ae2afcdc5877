"""A payer's image or wallet bill: fetched and checked before the transaction, then kept within a quota."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.evidence.bills import BILL_MIME_TYPE, CheckedBill, ReceivedBill, bill_too_large, check_bill
from handlers.evidence.images import CheckedImage, ReceivedImage, check_image, too_large
from handlers.parsing import InputRejected
from handlers.payer.turn import Turn
from handlers.ports import EvidenceStore, EvidenceUnavailable, FileDownloader, FileTooLarge, FileUnavailable
from storage.database import Database
from storage.tickets import evidence_by_sha256, record_evidence, unfiled_evidence_bytes

log = logging.getLogger(__name__)
MEGABYTE = 1024 * 1024
ANY_TIME = datetime.max.replace(tzinfo=UTC)  # delete(..., unless_modified_after=): whenever saved


class EvidenceBytes(Protocol):
    """Checked bytes to keep: a screenshot (CheckedImage) or a wallet bill (CheckedBill)."""

    @property
    def data(self) -> bytes: ...

    @property
    def mime_type(self) -> str: ...

    @property
    def sha256(self) -> str: ...


async def receive_image(
    files: FileDownloader, file_id: str, decoding: asyncio.Semaphore, keeping: "Keeping"
) -> ReceivedImage:
    """Download a file, check it is a usable image and store it; called with no transaction open."""
    try:
        data = await files.download(file_id)
    except FileTooLarge:
        return ReceivedImage.refused(too_large())
    except FileUnavailable:
        return ReceivedImage.refused(InputRejected("screenshot.download_failed"))
    try:
        async with decoding:  # a few decodes at a time: each may hold up to ~160 MB of pixels
            checked = await asyncio.to_thread(check_image, data)
        await keeping.store(checked)
    except InputRejected as rejection:
        return ReceivedImage.refused(rejection)
    return ReceivedImage(checked)


async def receive_bill(files: FileDownloader, file_id: str, keeping: "Keeping") -> ReceivedBill:
    """Download a file, read it as a payer's wallet bill and store it; called with no transaction open."""
    try:
        data = await files.download(file_id)
    except FileTooLarge:
        return ReceivedBill.refused(bill_too_large())
    except FileUnavailable:
        return ReceivedBill.refused(InputRejected("bill.download_failed"))
    try:
        checked = await asyncio.to_thread(check_bill, data)
        await keeping.store(checked)
    except InputRejected as rejection:
        return ReceivedBill.refused(rejection)
    return ReceivedBill(checked)


def received_image(turn: Turn) -> CheckedImage:
    """The image fetched for this event before the transaction, or InputRejected saying why there is none."""
    if turn.received_image is None:  # the report reached this step after the look before the download
        raise InputRejected("screenshot.download_failed")
    return turn.received_image.accepted()


def received_bill(turn: Turn) -> CheckedBill:
    """The bill fetched for this event before the transaction, or InputRejected saying why there is none."""
    if turn.received_bill is None:  # the report reached this step after the look before the download
        raise InputRejected("bill.download_failed")
    return turn.received_bill.accepted()


@dataclass(frozen=True)
class Keeping:
    """Where a payer's checked bytes go before the update's transaction: the store, within their quota."""

    db: Database
    evidence: EvidenceStore
    user_id: int
    quota: int

    async def store(self, checked: EvidenceBytes) -> None:
        """Store the bytes (no network I/O under a lock), or InputRejected: past the quota, or the store is
        down (the report stays at its step and the payer sends again); the row is written in the turn."""
        async with self.db.transaction() as session:
            await refuse_past_quota(session, self.user_id, self.quota, checked)
        try:
            await self.evidence.save(checked.data)
        except (EvidenceUnavailable, OSError) as error:
            log.error("the evidence store could not keep %s from user %s: %s", checked.sha256, self.user_id,
                      error)
            bill = checked.mime_type == BILL_MIME_TYPE
            raise InputRejected("bill.store_failed" if bill else "screenshot.store_failed") from error


    async def discard_unrecorded(self, sha256s: list[str]) -> None:
        """After the turn: remove stored bytes it did not keep, unless a row refers to them (someone's)."""
        async with self.db.transaction() as session:
            unused = [sha for sha in sha256s if await evidence_by_sha256(session, sha256=sha) is None]
        for sha256 in unused:
            try:
                await self.evidence.delete(sha256, unless_modified_after=ANY_TIME)
            except (EvidenceUnavailable, OSError) as error:  # left for the clean-up
                log.warning("could not remove unused evidence %s: %s", sha256, error)


async def refuse_past_quota(session: AsyncSession, user_id: int, quota: int, checked: EvidenceBytes) -> None:
    """InputRejected if new bytes would take the payer past their quota (bytes already kept never do)."""
    if await evidence_by_sha256(session, sha256=checked.sha256) is not None:
        return
    stored = await unfiled_evidence_bytes(session, user_id=user_id)
    if stored + len(checked.data) > quota:
        key = "bill.quota_full" if checked.mime_type == BILL_MIME_TYPE else "screenshot.quota_full"
        raise InputRejected(key, max_mb=quota // MEGABYTE)


async def keep_evidence(turn: Turn, image: EvidenceBytes) -> str:
    """Record the row of bytes stored before the transaction, checking the quota again (a race may
    have filled it since: the stored bytes then have no row, and the clean-up removes them)."""
    await refuse_past_quota(turn.session, turn.user.id, turn.rules.evidence_quota_bytes, image)
    turn.evidence_recorded.append(image.sha256)
    await record_evidence(
        turn.session, sha256=image.sha256, mime_type=image.mime_type, size=len(image.data),
        uploaded_by=turn.user.id, now=turn.now,
    )
    return image.sha256
