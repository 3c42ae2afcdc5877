"""Tickets waiting for a person, matched again when charges arrive: a late import can confirm a duplicate."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.matching import MatchOutcome
from handlers.money import Money
from handlers.refunds.lifecycle import move_ticket
from handlers.refunds.refunding import RefundCall, RefundPolicy, approve_if_allowed
from handlers.report_matching import Report, judge_report
from handlers.texts import format_money
from storage.models import PayerCheck, Ticket, TicketStatus, User, id_of
from storage.tickets import replace_matches, ticket_by_id

WAITING = (TicketStatus.NEEDS_REVIEW, TicketStatus.NEEDS_INFO)


async def match_waiting_tickets(
    session: AsyncSession, policy: RefundPolicy, waiting: list[int], *, now: datetime, source: str
) -> list[RefundCall]:
    """Re-match these waiting tickets (ids), which arrived charges could confirm; return the refund calls."""
    calls: list[RefundCall] = []
    for ticket_id in waiting:
        ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
        if ticket is None or ticket.status not in WAITING:
            continue  # someone acted on it meanwhile
        call = await _match_again(session, policy, ticket, now=now, source=source)
        if call is not None:
            calls.append(call)
    return calls


async def _match_again(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, now: datetime, source: str
) -> RefundCall | None:
    """Verify the ticket if the charges now confirm its duplicate; tell the payer and the desk."""
    money = Money.from_minor(ticket.amount_minor, ticket.currency)
    report = Report(ticket.user_id, ticket.order_id, money, ticket.paid_at, ticket.paid_on_day_only)
    judgement = await judge_report(session, report, window=policy.duplicate_window)
    if judgement.match.outcome is not MatchOutcome.CONFIRMED_DUPLICATE:
        return None
    if judgement.payer_check is PayerCheck.NOT_LINKED:
        return None  # a person still decides; the reporter is not the order's payer
    await replace_matches(session, ticket_id=id_of(ticket), matches=[
        (charge.transaction_id, role.value) for charge, role in judgement.match.charges
    ])
    ticket.payer_check = judgement.payer_check.value
    await move_ticket(session, ticket, TicketStatus.VERIFIED, actor=f"records:{source}",
                      note=f"the charges from the {source} confirm the duplicate", now=now)
    user = await session.get(User, ticket.user_id)
    locale = user.locale if user else ticket.locale
    await policy.notifier.tell_payer(
        session, ticket, "notice.confirmed_by_records", now=now, dedupe="confirmed_by_records",
        amount=format_money(money.amount, money.currency, locale),
    )
    return await approve_if_allowed(session, policy, ticket, now=now, reason="rematched")
