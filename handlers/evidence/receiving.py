"""A payer's image or wallet bill: fetched and checked before the transaction, then kept within a quota."""

import asyncio
from typing import Protocol

from handlers.evidence.bills import BILL_MIME_TYPE, CheckedBill, ReceivedBill, bill_too_large, check_bill
from handlers.evidence.images import CheckedImage, ReceivedImage, check_image, too_large
from handlers.parsing import InputRejected
from handlers.payer.turn import Turn
from handlers.ports import FileDownloader, FileTooLarge, FileUnavailable
from storage.tickets import evidence_by_sha256, record_evidence, unfiled_evidence_bytes

MEGABYTE = 1024 * 1024


class EvidenceBytes(Protocol):
    """Checked bytes to keep: a screenshot (CheckedImage) or a wallet bill (CheckedBill)."""

    @property
    def data(self) -> bytes: ...

    @property
    def mime_type(self) -> str: ...

    @property
    def sha256(self) -> str: ...


async def receive_image(files: FileDownloader, file_id: str, decoding: asyncio.Semaphore) -> ReceivedImage:
    """Download a file and check it is a usable image; called with no transaction open."""
    try:
        data = await files.download(file_id)
    except FileTooLarge:
        return ReceivedImage.refused(too_large())
    except FileUnavailable:
        return ReceivedImage.refused(InputRejected("screenshot.download_failed"))
    try:
        async with decoding:  # a few decodes at a time: each may hold up to ~160 MB of pixels
            return ReceivedImage(await asyncio.to_thread(check_image, data))
    except InputRejected as rejection:
        return ReceivedImage.refused(rejection)


async def receive_bill(files: FileDownloader, file_id: str) -> ReceivedBill:
    """Download a file and read it as a payer's wallet bill; called with no transaction open."""
    try:
        data = await files.download(file_id)
    except FileTooLarge:
        return ReceivedBill.refused(bill_too_large())
    except FileUnavailable:
        return ReceivedBill.refused(InputRejected("bill.download_failed"))
    try:
        return ReceivedBill(await asyncio.to_thread(check_bill, data))
    except InputRejected as rejection:
        return ReceivedBill.refused(rejection)


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


async def keep_evidence(turn: Turn, image: EvidenceBytes) -> str:
    """Store the file and its row, unless new bytes would take the payer past their storage quota."""
    session, quota = turn.session, turn.rules.evidence_quota_bytes
    if await evidence_by_sha256(session, sha256=image.sha256) is None:
        stored = await unfiled_evidence_bytes(session, user_id=turn.user.id)
        if stored + len(image.data) > quota:
            key = "bill.quota_full" if image.mime_type == BILL_MIME_TYPE else "screenshot.quota_full"
            raise InputRejected(key, max_mb=quota // MEGABYTE)
    turn.evidence.save(image.data)
    await record_evidence(
        session, sha256=image.sha256, mime_type=image.mime_type, size=len(image.data),
        uploaded_by=turn.user.id, now=turn.now,
    )
    return image.sha256
