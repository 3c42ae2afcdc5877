"""Refunds: attempts per ticket, each with a fixed idempotency key; at most one live per charge and ticket."""

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import Refund, RefundStatus, Ticket, TicketStatus


async def refund_of_ticket(session: AsyncSession, *, ticket_id: int, lock: bool = False) -> Refund | None:
    """The ticket's latest refund attempt, if one was made."""
    query = select(Refund).where(Refund.ticket_id == ticket_id).order_by(col(Refund.attempt).desc()).limit(1)
    return await first(session, query, lock=lock)


async def refund_by_reference(session: AsyncSession, *, reference: str, lock: bool = False) -> Refund | None:
    """A refund by its idempotency key, else the latest attempt of the ticket with that reference."""
    by_key = await first(session, select(Refund).where(Refund.idempotency_key == reference), lock=lock)
    if by_key is not None:
        return by_key
    query = select(Refund).where(Refund.reference == reference).order_by(col(Refund.attempt).desc()).limit(1)
    return await first(session, query, lock=lock)


async def live_refunds_of_charges(session: AsyncSession, *, transaction_ids: list[str]) -> dict[str, Refund]:
    """The refund that is not failed of each of these charges (a charge has at most one)."""
    if not transaction_ids:
        return {}
    query = select(Refund).where(
        col(Refund.transaction_id).in_(transaction_ids), Refund.status != RefundStatus.FAILED
    )
    return {refund.transaction_id: refund for refund in (await session.exec(query)).all()}


async def claim_unanswered_requests(session: AsyncSession, *, now: datetime, limit: int) -> list[Refund]:
    """Requested refunds whose provider has not answered and whose next try is due; skipped if taken."""
    query = (
        select(Refund)
        .where(Refund.status == RefundStatus.REQUESTED, col(Refund.next_attempt_at) <= now)
        .order_by(col(Refund.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


async def claim_due_updates(session: AsyncSession, *, now: datetime, limit: int) -> list[Ticket]:
    """Pending refunds whose next status update is due, oldest first; skipped if another worker has them."""
    query = (
        select(Ticket)
        .where(col(Ticket.next_update_at) <= now, Ticket.status == TicketStatus.REFUND_PENDING)
        .order_by(col(Ticket.next_update_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(query)).all())


async def due_settlements(session: AsyncSession, *, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(refund id, ticket id) of ledger refunds whose automatic settlement time has come."""
    query = (
        select(Refund.id, Refund.ticket_id)
        .where(col(Refund.settle_at) <= now, Refund.status == RefundStatus.PENDING)
        .order_by(col(Refund.settle_at))
        .limit(limit)
    )
    rows = (await session.exec(query)).all()
    # A stored refund always has an id; the test only tells the type checker so.
    return [(refund_id, ticket_id) for refund_id, ticket_id in rows if refund_id is not None]


async def refund_by_id(session: AsyncSession, *, refund_id: int, lock: bool = False) -> Refund | None:
    """A refund by id, optionally locked."""
    return await first(session, select(Refund).where(Refund.id == refund_id), lock=lock)
