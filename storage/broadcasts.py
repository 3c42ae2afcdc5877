"""Merchants' broadcasts: created, listed with their counts, cancelled, started when due."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, text, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus, id_of
from storage.upsert import table_of

OPEN = (BroadcastStatus.SCHEDULED, BroadcastStatus.RUNNING)


@dataclass(frozen=True)
class BroadcastCounts:
    """How a broadcast's messages stand: sent = delivered + unreachable + failed; the rest wait."""

    recipients: int
    delivered: int = 0
    unreachable: int = 0
    failed: int = 0

    @property
    def sent(self) -> int:
        """Messages the worker is done with, whatever became of them."""
        return self.delivered + self.unreachable + self.failed

    @property
    def waiting(self) -> int:
        """Messages not sent yet."""
        return max(self.recipients - self.sent, 0)


async def add_broadcast(session: AsyncSession, broadcast: Broadcast) -> Broadcast:
    """Record a confirmed broadcast (status scheduled); it gets its id."""
    session.add(broadcast)
    await session.flush()
    return broadcast


async def broadcast_by_id(
    session: AsyncSession, *, broadcast_id: int, lock: bool = False
) -> Broadcast | None:
    """A broadcast by id, optionally locked for this transaction."""
    return await first(session, select(Broadcast).where(Broadcast.id == broadcast_id), lock=lock)


async def recent_broadcasts(session: AsyncSession, *, limit: int = 20) -> list[Broadcast]:
    """Scheduled and past broadcasts, newest first."""
    newest = (col(Broadcast.scheduled_at).desc(), col(Broadcast.id).desc())
    return list((await session.exec(select(Broadcast).order_by(*newest).limit(limit))).all())


async def counts_of(session: AsyncSession, broadcasts: list[Broadcast]) -> dict[int, BroadcastCounts]:
    """The counts of each broadcast, from its outbox rows (one query)."""
    ids = [id_of(b) for b in broadcasts]
    if not ids:
        return {}
    outbox = table_of(OutboxMessage)

    def count(value: str) -> Any:
        return func.sum(case((outbox.c.status == value, 1), else_=0))

    query = (
        core_select(outbox.c.broadcast_id, count(OutboxStatus.SENT), count(OutboxStatus.DROPPED),
               count(OutboxStatus.FAILED))
        .where(outbox.c.broadcast_id.in_(ids))
        .group_by(outbox.c.broadcast_id)
    )
    connection = await session.connection()
    rows = {row[0]: row[1:] for row in (await connection.execute(query)).all()}
    counts = {}
    for broadcast in broadcasts:
        delivered, unreachable, failed = rows.get(broadcast.id, (0, 0, 0))
        counts[id_of(broadcast)] = BroadcastCounts(
            broadcast.recipients, int(delivered or 0), int(unreachable or 0), int(failed or 0)
        )
    return counts


async def cancel_broadcast(session: AsyncSession, broadcast: Broadcast, *, now: datetime) -> int:
    """Cancel a scheduled or running broadcast: its unsent messages are dropped; how many were."""
    broadcast.status, broadcast.finished_at = BroadcastStatus.CANCELLED, now
    session.add(broadcast)
    outbox = table_of(OutboxMessage)
    connection = await session.connection()
    result = await connection.execute(
        update(outbox)
        .where(outbox.c.broadcast_id == id_of(broadcast), outbox.c.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DROPPED, last_error="the broadcast was cancelled")
    )
    return int(result.rowcount or 0)


async def claim_due_broadcast(session: AsyncSession, *, now: datetime) -> Broadcast | None:
    """The earliest scheduled broadcast that is due, locked; another instance skips it (SKIP LOCKED)."""
    query = (
        select(Broadcast)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, col(Broadcast.scheduled_at) <= now)
        .order_by(col(Broadcast.scheduled_at), col(Broadcast.id))
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).first()


async def running_broadcasts(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts being sent, oldest first."""
    query = select(Broadcast).where(Broadcast.status == BroadcastStatus.RUNNING).order_by(col(Broadcast.id))
    return list((await session.exec(query)).all())


async def unsent_counts(session: AsyncSession, *, broadcast_ids: list[int]) -> dict[int, int]:
    """How many messages of each broadcast are still waiting or being sent (absent: none)."""
    if not broadcast_ids:
        return {}
    query = (
        select(OutboxMessage.broadcast_id, func.count())
        .where(
            col(OutboxMessage.broadcast_id).in_(broadcast_ids),
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .group_by(col(OutboxMessage.broadcast_id))
    )
    return {broadcast_id: count for broadcast_id, count in (await session.exec(query)).all() if broadcast_id}


_WEEKLY_TIP_LOCK = 0x7765656B  # "week": the advisory lock of queueing the weekly tip, and no other


async def lock_weekly_tip(session: AsyncSession) -> None:
    """Hold the weekly tip's queueing until the transaction ends: instances firing one cron queue one tip.

    PostgreSQL: a transaction-scoped advisory lock; SQLite has one writer anyway.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        connection = await session.connection()
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WEEKLY_TIP_LOCK})


async def last_weekly_broadcast(session: AsyncSession) -> Broadcast | None:
    """The newest broadcast the weekly tip queued."""
    query = (
        select(Broadcast)
        .where(Broadcast.source == "weekly")
        .order_by(col(Broadcast.created_at).desc(), col(Broadcast.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def message_count(session: AsyncSession, *, broadcast_id: int) -> int:
    """How many outbox rows the broadcast has (one per recipient)."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
    return int((await session.exec(query)).one())
