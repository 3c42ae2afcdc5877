"""The outbox: proactive messages waiting to be sent, claimed in small batches."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, OutboxStatus
from storage.upsert import insert_ignoring_conflicts, table_of

TRANSACTIONAL, BULK = 0, 1
FINAL_STATUSES = (OutboxStatus.SENT, OutboxStatus.DROPPED, OutboxStatus.FAILED)


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    chat_id: int,
    text: str,
    buttons: str | None = None,
    priority: int = TRANSACTIONAL,
    not_before: datetime,
    dropped_because: str | None = None,
    action: str = "send",
    ticket_id: int | None = None,
    parse_mode: str | None = None,
    photo_sha256: str | None = None,
) -> bool:
    """Add a message unless one with the same dedupe key exists; True if added."""
    row = outbox_row(
        dedupe_key=dedupe_key, chat_id=chat_id, text=text, buttons=buttons, priority=priority,
        not_before=not_before, dropped_because=dropped_because, action=action, ticket_id=ticket_id,
        parse_mode=parse_mode, photo_sha256=photo_sha256,
    )
    table = table_of(OutboxMessage)
    return await insert_ignoring_conflicts(session, table=table, rows=[row], keys=["dedupe_key"]) == 1


async def enqueue_rows(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Add messages made by `outbox_row`, skipping dedupe keys already there.

    No count: asyncpg reports none for a many-row insert (one row's count, in `enqueue`, is exact).
    """
    await insert_ignoring_conflicts(session, table=table_of(OutboxMessage), rows=rows, keys=["dedupe_key"])


def outbox_row(
    *,
    dedupe_key: str,
    chat_id: int,
    text: str,
    buttons: str | None = None,
    priority: int = TRANSACTIONAL,
    not_before: datetime,
    dropped_because: str | None = None,
    action: str = "send",
    ticket_id: int | None = None,
    parse_mode: str | None = None,
    photo_sha256: str | None = None,
    broadcast_id: int | None = None,
) -> dict[str, Any]:
    """A proactive message as an outbox row; dropped at once when `dropped_because` says why."""
    return {
        "dedupe_key": dedupe_key[:128],
        "chat_id": chat_id,
        "text": text[:4096],
        "buttons": buttons,
        "priority": priority,
        "attempts": 0,
        "not_before": not_before,
        "created_at": not_before,
        "status": OutboxStatus.DROPPED if dropped_because else OutboxStatus.PENDING,
        "last_error": dropped_because,
        "action": action,
        "ticket_id": ticket_id,
        "thread_id": None,
        "parse_mode": parse_mode,
        "photo_sha256": photo_sha256,
        "broadcast_id": broadcast_id,
    }


async def claim_due_messages(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Take due messages (and those whose sender died mid-lease), transactional ones first."""
    due = or_(
        and_(col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.not_before) <= now),
        and_(col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.lease_until) <= now),
    )
    query = (
        select(OutboxMessage)
        .where(due)
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.not_before), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.exec(query)).all())
    for message in messages:
        message.status, message.lease_until = OutboxStatus.SENDING, now + lease
        message.attempts += 1
        session.add(message)
    return messages


async def renew_lease(
    session: AsyncSession, *, message_id: int, held_until: datetime, until: datetime
) -> datetime | None:
    """Extend a claim's lease to `until` if the row still carries it; None if another claim took over."""
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status) == OutboxStatus.SENDING,
            col(OutboxMessage.lease_until) == held_until,
        )
        .values(lease_until=until)
    )
    return until if result.rowcount == 1 else None


async def _set(session: AsyncSession, message_id: int, **values: object) -> None:
    await session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(**values))


async def mark_sent(session: AsyncSession, *, message_id: int, now: datetime) -> None:
    """The message went out."""
    await _set(session, message_id, status=OutboxStatus.SENT, sent_at=now, lease_until=None)


async def retry_later(
    session: AsyncSession, *, message_id: int, not_before: datetime, error: str, count_attempt: bool = True
) -> None:
    """Put the message back in the queue until `not_before`."""
    values: dict[str, object] = {
        "status": OutboxStatus.PENDING,
        "not_before": not_before,
        "lease_until": None,
        "last_error": error[:512],
    }
    if not count_attempt:
        values["attempts"] = col(OutboxMessage.attempts) - 1
    await _set(session, message_id, **values)


async def mark_failed(session: AsyncSession, *, message_id: int, error: str) -> None:
    """Give up on the message, keeping the last error."""
    await _set(session, message_id, status=OutboxStatus.FAILED, lease_until=None, last_error=error[:512])


async def drop_pending_for_chat(session: AsyncSession, *, chat_id: int, reason: str) -> int:
    """Drop every unsent message to a chat (the user blocked the bot)."""
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .values(status=OutboxStatus.DROPPED, lease_until=None, last_error=reason[:512])
    )
    return result.rowcount


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many messages stand in each status."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {status: count for status, count in (await session.exec(query)).all()}


async def messages_to(session: AsyncSession, *, chat_id: int) -> list[OutboxMessage]:
    """Every outbox message to a chat, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(col(OutboxMessage.id))
    return list((await session.exec(query)).all())


async def next_due_time(session: AsyncSession) -> datetime | None:
    """When the earliest pending message becomes due."""
    query = select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == OutboxStatus.PENDING)
    return (await session.exec(query)).one()


async def delete_finished_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete at most `limit` sent, dropped or failed messages created before `before`; return how many."""
    oldest = (
        select(OutboxMessage.id)
        .where(col(OutboxMessage.status).in_(FINAL_STATUSES), OutboxMessage.created_at < before)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    result = await session.exec(delete(OutboxMessage).where(col(OutboxMessage.id).in_(oldest)))
    return result.rowcount


async def postpone_pending_for_chat(session: AsyncSession, *, chat_id: int, not_before: datetime) -> int:
    """Hold every waiting message to a chat until at least `not_before` (the chat refuses messages)."""
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.not_before) < not_before,
        )
        .values(not_before=not_before)
    )
    return result.rowcount
