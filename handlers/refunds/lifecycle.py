"""The ticket state machine: which status may follow which, and the audit row of every move."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CLOSED_STATUSES, Ticket, TicketAudit, TicketStatus, id_of

S = TicketStatus
ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    # → refunded: support records a refund made outside the bot (also from the two review states).
    S.VERIFIED: frozenset({S.APPROVED, S.NEEDS_REVIEW, S.NEEDS_INFO, S.REJECTED, S.CANCELLED, S.REFUNDED}),
    # → refunded: after "Not yet", support confirms the refund had landed and re-sends its details.
    # → verified: charges that arrived later (import, live feed) confirm the duplicate.
    S.NEEDS_REVIEW: frozenset({S.VERIFIED, S.APPROVED, S.NEEDS_INFO, S.REJECTED, S.CANCELLED, S.REFUNDED}),
    S.NEEDS_INFO: frozenset({S.VERIFIED, S.NEEDS_REVIEW, S.APPROVED, S.REJECTED, S.CANCELLED, S.REFUNDED}),
    S.APPROVED: frozenset({S.REFUND_PENDING, S.REFUND_FAILED, S.CANCELLED}),
    S.REFUND_PENDING: frozenset({S.REFUNDED, S.REFUND_FAILED}),
    # → approved: retried as a new attempt; → refunded: a late success still lands.
    S.REFUND_FAILED: frozenset({S.APPROVED, S.REFUNDED, S.REJECTED}),
    S.REFUNDED: frozenset({S.NEEDS_REVIEW}),  # the payer says the money never arrived
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}
PAYER_CANCELLABLE = frozenset({S.VERIFIED, S.NEEDS_REVIEW, S.NEEDS_INFO, S.APPROVED})


class IllegalTransition(ValueError):
    """A move the state machine does not allow; nothing was changed."""

    def __init__(self, reference: str, current: str, wanted: str):
        super().__init__(f"ticket {reference} cannot go from {current} to {wanted}")
        self.current, self.wanted = current, wanted


def can_move(current: str, wanted: str) -> bool:
    """Whether the table allows this move."""
    return TicketStatus(wanted) in ALLOWED[TicketStatus(current)]


async def move_ticket(
    session: AsyncSession, ticket: Ticket, to: TicketStatus, *, actor: str, note: str, now: datetime
) -> None:
    """Change the status (or refuse), write the audit row, keep the one-open-ticket key right."""
    if not can_move(ticket.status, to):
        raise IllegalTransition(ticket.reference, ticket.status, to)
    _audit(session, ticket, to, actor=actor, note=note, now=now)
    ticket.status, ticket.updated_at = to.value, now
    if to in CLOSED_STATUSES:
        ticket.open_order_key = None
        ticket.next_update_at = None
    session.add(ticket)


async def note_on_ticket(
    session: AsyncSession, ticket: Ticket, *, actor: str, note: str, now: datetime
) -> None:
    """An audit row for a step that leaves the status as it is (e.g. an agent naming the duplicate charge)."""
    _audit(session, ticket, TicketStatus(ticket.status), actor=actor, note=note, now=now)


def _audit(session: AsyncSession, ticket: Ticket, to: TicketStatus, *, actor: str, note: str,
           now: datetime) -> None:
    """The audit row of a move from the ticket's current status to `to`."""
    session.add(TicketAudit(ticket_id=id_of(ticket), actor=actor, from_status=ticket.status,
                            to_status=to.value, note=note[:1024], at=now))
