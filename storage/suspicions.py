"""Suspected duplicates the monitor recorded, and how each was answered."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import (
    CLOSED_STATUSES,
    OPEN_SUSPICIONS,
    SuspectedDuplicate,
    Ticket,
    TicketTransaction,
    Transaction,
    TransactionStatus,
)
from storage.upsert import insert_statement, table_of


async def record_suspicions(
    session: AsyncSession, *, rows: Sequence[dict[str, object]]
) -> list[SuspectedDuplicate]:
    """Insert suspicions not already recorded (one per suspect charge); return only the new ones."""
    if not rows:
        return []
    table = table_of(SuspectedDuplicate)
    statement = (
        insert_statement(session, table)
        .on_conflict_do_nothing(index_elements=["transaction_id"])
        .returning(*table.c)
    )
    connection = await session.connection()
    inserted = (await connection.execute(statement, list(rows))).mappings().all()
    return [SuspectedDuplicate.model_construct(**row) for row in inserted]


async def suspicion_by_id(
    session: AsyncSession, *, suspicion_id: int, lock: bool = False
) -> SuspectedDuplicate | None:
    """A suspicion by id, optionally locked for this transaction."""
    query = select(SuspectedDuplicate).where(SuspectedDuplicate.id == suspicion_id)
    return await first(session, query, lock=lock)


async def open_suspicions(session: AsyncSession, *, limit: int = 50) -> list[SuspectedDuplicate]:
    """Suspicions nobody has answered yet, newest first."""
    query = (
        select(SuspectedDuplicate)
        .where(col(SuspectedDuplicate.status).in_(list(OPEN_SUSPICIONS)))
        .order_by(col(SuspectedDuplicate.paid_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def repeat_share(session: AsyncSession, *, since: datetime) -> tuple[int, int]:
    """(suspected duplicates, successful charges) paid since a moment."""
    repeats = await session.exec(
        select(func.count()).select_from(SuspectedDuplicate).where(SuspectedDuplicate.paid_at >= since)
    )
    charges = await session.exec(
        select(func.count()).select_from(Transaction).where(
            Transaction.created_at >= since, Transaction.status == TransactionStatus.SUCCEEDED
        )
    )
    return repeats.one(), charges.one()


async def open_ticket_naming_duplicate(
    session: AsyncSession, *, user_id: int, transaction_id: str, role: str
) -> Ticket | None:
    """The user's open ticket already naming this charge in `role` (e.g. a report the records confirmed)."""
    query = (
        select(Ticket)
        .join(TicketTransaction, col(TicketTransaction.ticket_id) == col(Ticket.id))
        .where(
            Ticket.user_id == user_id,
            TicketTransaction.transaction_id == transaction_id,
            TicketTransaction.role == role,
            col(Ticket.status).not_in(list(CLOSED_STATUSES)),
        )
        .order_by(col(Ticket.id))
    )
    return (await session.exec(query)).first()
