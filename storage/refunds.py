"""Refunds: one per ticket, keyed by the ticket's reference."""

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Refund, RefundStatus, Ticket, TicketStatus, User


async def refund_of_ticket(session: AsyncSession, *, ticket_id: int) -> Refund | None:
    """The ticket's refund, if one was created."""
    return (await session.exec(select(Refund).where(Refund.ticket_id == ticket_id))).first()


async def refund_by_reference(session: AsyncSession, *, reference: str, lock: bool = False) -> Refund | None:
    """A refund by its reference (the ticket's)."""
    query = select(Refund).where(Refund.reference == reference)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def ticket_by_reference(session: AsyncSession, *, reference: str, lock: bool = False) -> Ticket | None:
    """A ticket by its reference, optionally locked for this transaction."""
    query = select(Ticket).where(Ticket.reference == reference)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def ticket_by_id(session: AsyncSession, *, ticket_id: int, lock: bool = False) -> Ticket | None:
    """A ticket by id, optionally locked."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


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
    query = select(Refund).where(Refund.id == refund_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def set_reachable(session: AsyncSession, *, user_id: int, reachable: bool) -> None:
    """Record that the user blocked (or unblocked) the bot."""
    user = await session.get(User, user_id)
    if user is not None and user.unreachable == reachable:
        user.unreachable = not reachable
        session.add(user)
