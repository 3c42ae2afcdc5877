"""A refund made outside the bot (a bank transfer, cash at the counter): recorded, closed, told honestly."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.matching import ChargeRole
from handlers.money import Money
from handlers.parsing import InputRejected, parse_amount
from handlers.refunds.lifecycle import move_ticket
from handlers.refunds.refunding import (
    ChargeAlreadyRefunded,
    RefundExists,
    RefundPolicy,
    landed_buttons,
    refund_key,
)
from handlers.texts import format_money
from storage.models import Refund, RefundStatus, Ticket, TicketStatus, User, id_of
from storage.refunds import live_refunds_of_charges, refund_of_ticket
from storage.tickets import matches_of

OUTSIDE = "outside"  # the provider of such a refund: nobody is called, it has landed when recorded
NOT_POSITIVE = frozenset({"amount.zero", "amount.negative"})


@dataclass(frozen=True)
class OutsideRefund:
    """What the agent says the merchant refunded, and how."""

    amount: Money
    note: str


def read_outside_refund(words: str, ticket: Ticket) -> OutsideRefund:
    """`<amount> <note>` (e.g. "99.00 bank transfer, ref 123"): more than zero, at most the reported amount.

    The amount may carry its currency ("99 CNY …"), which must be the ticket's. Raises InputRejected naming
    the desk message that says what is wrong.
    """
    parts = words.split(maxsplit=2)
    for size in (2, 1):  # "99 CNY bank transfer", then "99 bank transfer"
        if len(parts) < size:
            continue
        try:
            amount = parse_amount(" ".join(parts[:size]), default_currency=ticket.currency)
        except InputRejected as error:
            if size == 1:
                key = "desk.outside_not_positive" if error.key in NOT_POSITIVE else "desk.outside_not_amount"
                raise InputRejected(key) from error
            continue
        note = " ".join(parts[size:])
        break
    else:
        raise InputRejected("desk.outside_not_amount")
    if amount.currency != ticket.currency:
        raise InputRejected("desk.outside_other_currency", typed=amount.currency)
    if amount.minor > ticket.amount_minor:
        raise InputRejected("desk.outside_too_much")
    if not note:
        raise InputRejected("desk.outside_needs_note")
    return OutsideRefund(amount, note)


async def payer_locale(session: AsyncSession, ticket: Ticket) -> str:
    """The language the ticket's payer reads."""
    user = await session.get(User, ticket.user_id)
    return user.locale if user else ticket.locale


async def outside_notice(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, outside: OutsideRefund
) -> tuple[str, str]:
    """The payer's language and exactly what they are told once the refund is recorded."""
    locale = await payer_locale(session, ticket)
    amount = format_money(outside.amount.amount, outside.amount.currency, locale)
    return await policy.notifier.payer_text(
        session, ticket, "notice.refunded_outside", amount=amount, note=outside.note
    )


async def record_outside_refund(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    outside: OutsideRefund,
    *,
    agent: str,
    actor: str,
    now: datetime,
) -> Refund:
    """Record a landed refund for the (locked) ticket, close it as refunded and tell its payer.

    The refund takes the ticket's duplicate charge when that has no live refund (so it is never refunded
    again), else it is `outside:<reference>`. Raises RefundExists or ChargeAlreadyRefunded, having changed
    nothing.
    """
    latest = await refund_of_ticket(session, ticket_id=id_of(ticket), lock=True)
    if latest is not None and latest.status != RefundStatus.FAILED:
        raise RefundExists(latest)
    matches = await matches_of(session, ticket_id=id_of(ticket))
    duplicates = [m.transaction_id for m in matches if m.role == ChargeRole.DUPLICATE]
    taken = await live_refunds_of_charges(session, transaction_ids=duplicates)
    free = [charge for charge in duplicates if charge not in taken]
    attempt = latest.attempt + 1 if latest else 1
    money = outside.amount
    try:
        async with session.begin_nested():
            refund = Refund(
                ticket_id=id_of(ticket),
                reference=ticket.reference,
                attempt=attempt,
                idempotency_key=refund_key(ticket.reference, attempt),
                transaction_id=free[0] if free else f"{OUTSIDE}:{ticket.reference}",
                amount_minor=money.minor,
                currency=money.currency,
                provider=OUTSIDE,
                status=RefundStatus.SUCCEEDED,
                landed_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(refund)
            await session.flush()
    except IntegrityError:
        # Another ticket's refund took the duplicate charge between our check and our insert.
        await session.refresh(ticket)
        raise ChargeAlreadyRefunded(None) from None
    note = f"refunded {money.amount} {money.currency} outside the bot, recorded by {agent}: {outside.note}"
    await move_ticket(session, ticket, TicketStatus.REFUNDED, actor=actor, note=note, now=now)
    locale = await payer_locale(session, ticket)
    await policy.notifier.tell_payer(
        session,
        ticket,
        "notice.refunded_outside",
        now=now,
        dedupe=f"refunded_outside:{attempt}",
        buttons=landed_buttons(policy, ticket, locale),
        amount=format_money(money.amount, money.currency, locale),
        note=outside.note,
    )
    return refund
