"""What the support team looks at: the queue that needs a person, and the rows behind reports."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Refund, Ticket, TicketAudit, TicketStatus

WAITING_FOR_A_PERSON = (
    TicketStatus.NEEDS_REVIEW,
    TicketStatus.VERIFIED,
    TicketStatus.NEEDS_INFO,
    TicketStatus.REFUND_FAILED,
)
IDS_PER_QUERY = 1000


async def tickets_needing_a_person(session: AsyncSession) -> list[Ticket]:
    """Tickets waiting for a decision, a failed refund, or an overdue (escalated) refund; oldest first."""
    overdue = and_(col(Ticket.status) == TicketStatus.REFUND_PENDING, col(Ticket.escalated_at).is_not(None))
    query = (
        select(Ticket)
        .where(or_(col(Ticket.status).in_(WAITING_FOR_A_PERSON), overdue))
        .order_by(col(Ticket.created_at), col(Ticket.id))
    )
    return list((await session.exec(query)).all())


async def tickets_created_since(session: AsyncSession, *, since: datetime) -> list[Ticket]:
    """Tickets filed at or after `since`, oldest first."""
    query = (
        select(Ticket).where(Ticket.created_at >= since).order_by(col(Ticket.created_at), col(Ticket.id))
    )
    return list((await session.exec(query)).all())


async def audit_since(session: AsyncSession, *, since: datetime) -> list[TicketAudit]:
    """The audit trail of every ticket filed at or after `since`, by ticket then in order of writing."""
    query = (
        select(TicketAudit)
        .join(Ticket, col(Ticket.id) == col(TicketAudit.ticket_id))
        .where(Ticket.created_at >= since)
        .order_by(col(TicketAudit.ticket_id), col(TicketAudit.id))
    )
    return list((await session.exec(query)).all())


async def refunds_of(session: AsyncSession, *, ticket_ids: Collection[int]) -> list[Refund]:
    """The refunds of these tickets (at most one each), by ticket."""
    ids = sorted(set(ticket_ids))
    refunds: list[Refund] = []
    # Chunked: both databases cap the number of bound parameters in one statement.
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        query = select(Refund).where(col(Refund.ticket_id).in_(chunk)).order_by(col(Refund.ticket_id))
        refunds.extend((await session.exec(query)).all())
    return refunds
