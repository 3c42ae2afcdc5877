"""The rows behind the merchant's dashboard: reports, confirmations, refunds, suspicions, tips."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    OutboxMessage,
    OutboxStatus,
    Refund,
    RefundStatus,
    SuspectedDuplicate,
    Ticket,
    TicketAudit,
    TicketStatus,
    User,
)

# A ticket that stood in one of these was a confirmed duplicate: verified against the records at filing,
# or approved by a person (and then on its way to a refund).
CONFIRMED_STATUSES = (
    TicketStatus.VERIFIED,
    TicketStatus.APPROVED,
    TicketStatus.REFUND_PENDING,
    TicketStatus.REFUNDED,
    TicketStatus.REFUND_FAILED,
)


@dataclass(frozen=True)
class FiledReport:
    """A duplicate report (ticket): when it was filed and whether it was confirmed at filing or later."""

    filed_at: datetime
    confirmed: bool


@dataclass(frozen=True)
class LandedRefund:
    """A refund that reached the payer: when its ticket was filed and when the money landed."""

    filed_at: datetime
    landed_at: datetime


@dataclass(frozen=True)
class TipAnswers:
    """How payers answered the question about tips (those who never answered are in neither)."""

    subscribed: int
    opted_out: int

    @property
    def answered(self) -> int:
        """Payers who said yes or no."""
        return self.subscribed + self.opted_out


async def reports_filed(session: AsyncSession, *, since: datetime) -> list[FiledReport]:
    """Tickets filed at or after `since`, oldest first, each marked confirmed from its status or audit."""
    confirmed_in_audit = exists().where(
        col(TicketAudit.ticket_id) == col(Ticket.id), col(TicketAudit.to_status).in_(CONFIRMED_STATUSES)
    )
    confirmed = col(Ticket.status).in_(CONFIRMED_STATUSES) | confirmed_in_audit
    query = (
        select(Ticket.created_at, confirmed)
        .where(col(Ticket.created_at) >= since)
        .order_by(col(Ticket.created_at), col(Ticket.id))
    )
    rows = (await session.exec(query)).all()
    return [FiledReport(filed_at, bool(is_confirmed)) for filed_at, is_confirmed in rows]


async def refunds_landed(session: AsyncSession, *, since: datetime) -> list[LandedRefund]:
    """Refunds that landed at or after `since`, in order of landing."""
    query = (
        select(Ticket.created_at, Refund.landed_at)
        .join(Ticket, col(Ticket.id) == col(Refund.ticket_id))
        .where(col(Refund.status) == RefundStatus.SUCCEEDED, col(Refund.landed_at) >= since)
        .order_by(col(Refund.landed_at), col(Refund.id))
    )
    return [
        LandedRefund(filed_at, landed_at)
        for filed_at, landed_at in (await session.exec(query)).all()
        if landed_at is not None
    ]


async def suspicions_paid(session: AsyncSession, *, since: datetime) -> list[tuple[datetime, str]]:
    """(paid at, status) of each suspected duplicate the monitor found among charges paid since `since`."""
    query = (
        select(SuspectedDuplicate.paid_at, SuspectedDuplicate.status)
        .where(col(SuspectedDuplicate.paid_at) >= since)
        .order_by(col(SuspectedDuplicate.paid_at), col(SuspectedDuplicate.id))
    )
    return [(paid_at, status) for paid_at, status in (await session.exec(query)).all()]


async def tips_sent(session: AsyncSession, *, since: datetime) -> list[datetime]:
    """When each broadcast message delivered since `since` was sent (delivered rows are pruned later)."""
    query = (
        select(OutboxMessage.sent_at)
        .where(
            col(OutboxMessage.broadcast_id).is_not(None),
            col(OutboxMessage.status) == OutboxStatus.SENT,
            col(OutboxMessage.sent_at) >= since,
        )
        .order_by(col(OutboxMessage.sent_at))
    )
    return [sent_at for sent_at in (await session.exec(query)).all() if sent_at is not None]


async def tip_answers(session: AsyncSession) -> TipAnswers:
    """How many payers now take tips, and how many said no (or stopped them)."""
    query = select(User.tips, func.count()).where(col(User.tips).is_not(None)).group_by(col(User.tips))
    counts = {bool(tips): int(count) for tips, count in (await session.exec(query)).all()}
    return TipAnswers(subscribed=counts.get(True, 0), opted_out=counts.get(False, 0))

