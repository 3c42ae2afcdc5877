"""A payer's duplicate across two orders: the second tap of "pay" after a timeout made a new order."""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.matching import Match, match_across_orders
from handlers.money import Money
from storage.models import Transaction, TransactionStatus
from storage.payer_charges import charges_of_payers
from storage.payer_links import payer_ids_of_user
from storage.refunds import live_refunds_of_charges

# A payer's own time of payment is approximate; a day-only time could be any hour of that day.
TYPED_TIME_SLACK = timedelta(hours=1)
DAY = timedelta(days=1)


async def nearby_charges(
    session: AsyncSession, *, payer_ids: set[str], money: Money, around: datetime, reach: timedelta
) -> list[Transaction]:
    """The charges of these payers of exactly this amount within `reach` of a moment."""
    return await charges_of_payers(
        session, payer_ids=payer_ids, since=around - reach, until=around + reach,
        amount_minor=money.minor, currency=money.currency,
    )


def anchor_of(order_charges: list[Transaction], money: Money) -> Transaction | None:
    """The reported order's latest successful charge of the reported amount."""
    paid = [c for c in order_charges if c.status == TransactionStatus.SUCCEEDED
            and (c.amount_minor, c.currency) == (money.minor, money.currency)]
    return paid[-1] if paid else None


async def duplicate_across_orders(
    session: AsyncSession,
    *,
    user_id: int,
    money: Money,
    order_charges: list[Transaction],
    paid_at: datetime,
    day_only: bool,
    window: timedelta,
) -> Match | None:
    """The duplicate pair of the reporter's own payer ids, or None.

    With an order number the pair must include that order's charge; without one it is the pair nearest the
    time the payer gave. Only payers this Telegram user is linked to are looked at.
    """
    linked = set(await payer_ids_of_user(session, telegram_user_id=user_id))
    anchor = anchor_of(order_charges, money)
    if order_charges:
        payer_ids = {anchor.payer_id} & linked if anchor else set()
    else:
        payer_ids = linked
    if not payer_ids:
        return None
    if anchor is not None:
        around, reach = anchor.created_at, window
    else:
        around, reach = paid_at, window + (DAY if day_only else TYPED_TIME_SLACK)
    charges = await nearby_charges(session, payer_ids=payer_ids, money=money, around=around, reach=reach)
    refunded = await live_refunds_of_charges(session, transaction_ids=[c.transaction_id for c in charges])
    return match_across_orders(
        money, charges, anchor=anchor, paid_at=paid_at, window=window, refunded_here=frozenset(refunded)
    )
