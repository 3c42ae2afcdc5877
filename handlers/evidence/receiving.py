"""A payer's image: fetched and checked before the transaction, then kept within their storage quota."""

import asyncio

from handlers.evidence.images import CheckedImage, ReceivedImage, check_image, too_large
from handlers.parsing import InputRejected
from handlers.payer.turn import Turn
from handlers.ports import FileDownloader, FileTooLarge, FileUnavailable
from storage.tickets import evidence_by_sha256, record_evidence, unfiled_evidence_bytes

MEGABYTE = 1024 * 1024


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


def received_image(turn: Turn) -> CheckedImage:
    """The image fetched for this event before the transaction, or InputRejected saying why there is none."""
    if turn.received_image is None:  # the report reached this step after the look before the download
        raise InputRejected("screenshot.download_failed")
    return turn.received_image.accepted()


async def keep_evidence(turn: Turn, image: CheckedImage) -> str:
    """Store the image and its row, unless new bytes would take the payer past their storage quota."""
    session, quota = turn.session, turn.rules.evidence_quota_bytes
    if await evidence_by_sha256(session, sha256=image.sha256) is None:
        stored = await unfiled_evidence_bytes(session, user_id=turn.user.id)
        if stored + len(image.data) > quota:
            raise InputRejected("screenshot.quota_full", max_mb=quota // MEGABYTE)
    turn.evidence.save(image.data)
    await record_evidence(
        session, sha256=image.sha256, mime_type=image.mime_type, size=len(image.data),
        uploaded_by=turn.user.id, now=turn.now,
    )
    return image.sha256
