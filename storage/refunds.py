"""Refunds: one per ticket, keyed by the ticket's reference."""

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import Refund, RefundStatus, Ticket, TicketStatus


async def refund_of_ticket(session: AsyncSession, *, ticket_id: int) -> Refund | None:
    """The ticket's refund, if one was created."""
    return (await session.exec(select(Refund).where(Refund.ticket_id == ticket_id))).first()


async def refund_by_reference(session: AsyncSession, *, reference: str, lock: bool = False) -> Refund | None:
    """A refund by its reference (the ticket's)."""
    return await first(session, select(Refund).where(Refund.reference == reference), lock=lock)


async def claim_due_updates(session: AsyncSession, *, now: datetime, limit: int) -> list[Ticket]:
    """Pending refunds whose next status update is due, oldest first; skipped if another worker has them."""
    query = (
        select(Ticket)
        .where(Ticket.next_update_at <= now, Ticket.status == TicketStatus.REFUND_PENDING)
        .order_by(col(Ticket.next_update_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


async def due_settlements(session: AsyncSession, *, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(refund id, ticket id) of ledger refunds whose automatic settlement time has come."""
    query = (
        select(Refund.id, Refund.ticket_id)
        .where(Refund.settle_at <= now, Refund.status == RefundStatus.PENDING)
        .order_by(col(Refund.settle_at))
        .limit(limit)
    )
    return [(refund_id, ticket_id) for refund_id, ticket_id in (await session.exec(query)).all()]


async def refund_by_id(session: AsyncSession, *, refund_id: int, lock: bool = False) -> Refund | None:
    """A refund by id, optionally locked."""
    return await first(session, select(Refund).where(Refund.id == refund_id), lock=lock)
