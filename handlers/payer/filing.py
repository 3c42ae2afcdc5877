"""Turning a finished report into a ticket, once."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from handlers.matching import ChargeRole, Match, MatchOutcome
from handlers.money import Money
from handlers.payer.turn import Turn
from handlers.report_matching import Report, judge_report
from storage.models import PayerCheck, Refund, Ticket, TicketStatus
from storage.tickets import add_ticket, open_order_key, open_ticket_for_order

DEFAULT_WINDOW = timedelta(minutes=10)
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def new_reference() -> str:
    """A ticket reference payers can read aloud: RF- and eight unambiguous characters."""
    return "RF-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


class FilingResult(StrEnum):
    """What submitting a report did."""

    FILED = "filed"
    ALREADY_OPEN = "already_open"
    ALREADY_REFUNDED = "already_refunded"


@dataclass(frozen=True)
class Filing:
    """The result, the ticket (new or the open one), the match behind it and refunds made here already."""

    result: FilingResult
    ticket: Ticket | None = None
    match: Match | None = None
    refunds: tuple[Refund, ...] = ()


async def file_report(turn: Turn, open_order_keys: frozenset[str] | None = None) -> Filing:
    """File the report in the conversation as a ticket with its matched charges.

    `open_order_keys`: the payer's open tickets' keys when the turn has read them already (no second look).
    """
    report, session = turn.conversation, turn.session
    if report.order_id and (
        open_order_keys is None
        or open_order_key(user_id=turn.user.id, order_id=report.order_id) in open_order_keys
    ):
        existing = await open_ticket_for_order(
            session, user_id=turn.user.id, order_id=report.order_id
        )
        if existing:
            return Filing(FilingResult.ALREADY_OPEN, existing)
    # Only a complete report is filed.
    assert report.amount_minor is not None and report.currency is not None
    assert report.paid_at is not None and report.report_key is not None
    reported = Money.from_minor(report.amount_minor, report.currency)
    window = turn.policy.duplicate_window if turn.policy else DEFAULT_WINDOW
    judgement = await judge_report(session, Report(
        turn.user.id, report.order_id, reported, report.paid_at, report.paid_on_day_only
    ), window=window)
    match, payer_check, refunds = judgement.match, judgement.payer_check, judgement.refunds
    status = match.ticket_status
    if payer_check is PayerCheck.NOT_LINKED:
        status = TicketStatus.NEEDS_REVIEW  # a person decides; the reporter is shown nothing of the charges
    elif match.outcome is MatchOutcome.ALREADY_REFUNDED:
        refunded = [refunds[c.transaction_id] for c, role in match.charges
                    if role is ChargeRole.REFUNDED and c.transaction_id in refunds]
        return Filing(FilingResult.ALREADY_REFUNDED, None, match, tuple(refunded))
    ticket = Ticket(
        reference=new_reference(),
        user_id=turn.user.id,
        chat_id=report.chat_id,
        locale=turn.locale,
        order_id=report.order_id,
        amount_minor=reported.minor,
        currency=reported.currency,
        paid_at=report.paid_at,
        paid_on_day_only=report.paid_on_day_only,
        evidence_sha256=report.evidence_sha256,
        status=status,
        payer_check=payer_check,
        report_key=report.report_key,
        open_order_key=(
            open_order_key(user_id=turn.user.id, order_id=report.order_id)
            if report.order_id else None
        ),
        created_at=turn.now,
        updated_at=turn.now,
    )
    matches = [(charge.transaction_id, role.value) for charge, role in match.charges]
    await add_ticket(session, ticket=ticket, matches=matches, actor=f"payer:{turn.user.id}",
                     now=turn.now)
    return Filing(FilingResult.FILED, ticket, match)
