"""What the merchant's charges say about a reported duplicate: on its order, or across the payer's orders."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.cross_order import duplicate_across_orders
from handlers.matching import Match, MatchOutcome, match_charges
from handlers.money import Money
from storage.models import PayerCheck, Refund, Transaction
from storage.order_charges import OrderCharges, order_charges_for


@dataclass(frozen=True)
class Judgement:
    """The match, whether the reporter is the payer, and the refunds made here of the order's charges."""

    match: Match
    payer_check: PayerCheck
    refunds: dict[str, Refund]


@dataclass(frozen=True)
class Report:
    """What a payer reported: enough to look the charges up."""

    user_id: int
    order_id: str | None
    money: Money
    paid_at: datetime
    day_only: bool


def check_payer(charges: list[Transaction], linked_payer_ids: set[str]) -> PayerCheck:
    """Whether the reporter is linked to every payer the merchant's records name for these charges."""
    named = {charge.payer_id for charge in charges if charge.payer_id}
    if not named:
        return PayerCheck.UNNAMED
    return PayerCheck.LINKED if named <= linked_payer_ids else PayerCheck.NOT_LINKED


async def judge_report(session: AsyncSession, report: Report, *, window: timedelta) -> Judgement:
    """Match the order's charges; failing that, a linked reporter's repeat payment on another order."""
    found = (await order_charges_for(session, order_id=report.order_id, telegram_user_id=report.user_id)
             if report.order_id else OrderCharges([], {}, set()))
    charges, refunds = found.charges, found.refunds
    match = match_charges(report.money, charges, frozenset(refunds))
    payer_check = check_payer(charges, found.linked_payer_ids)
    if match.outcome is MatchOutcome.NEEDS_A_PERSON and payer_check is not PayerCheck.NOT_LINKED:
        across = await duplicate_across_orders(
            session, user_id=report.user_id, money=report.money, order_charges=charges,
            paid_at=report.paid_at, day_only=report.day_only, window=window,
        )
        if across is not None:
            match, payer_check = across, PayerCheck.LINKED
    return Judgement(match, payer_check, refunds)
