"""The payer's answer to "were you charged twice?": refund the extra payment, or leave both."""

import secrets

from handlers.buttons import RepeatAnswer, RepeatButton
from handlers.events import ClearButtons, Toast
from handlers.matching import ChargeRole
from handlers.money import Money
from handlers.payer.filing import new_reference
from handlers.payer.turn import Turn
from handlers.refunds.refunding import approve_if_allowed, refunded_charges
from handlers.texts import format_money
from storage.models import (
    PayerCheck,
    SuspectedDuplicate,
    SuspicionStatus,
    Ticket,
    TicketStatus,
    Transaction,
    id_of,
)
from storage.suspicions import open_ticket_naming_duplicate, suspicion_by_id
from storage.tickets import add_ticket, open_order_key, open_ticket_for_order, ticket_by_id


async def answer_repeat(turn: Turn, button: RepeatButton) -> None:
    """Act on the answer if this payer was the one asked and has not answered yet."""
    suspicion = await suspicion_by_id(turn.session, suspicion_id=button.suspicion_id, lock=True)
    if suspicion is None or suspicion.telegram_user_id != turn.user.id:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    if turn.event.message_id is not None:
        turn.outcome.outputs.append(ClearButtons(turn.event.message_id))
    if suspicion.status != SuspicionStatus.ALERTED:
        await _already_answered(turn, suspicion)
        return
    suspicion.answered_at = turn.now
    if button.answer is RepeatAnswer.INTENDED:
        suspicion.status = SuspicionStatus.DECLINED
        turn.say(turn.t("monitor.kept"))
    else:
        await _refund_the_repeat(turn, suspicion)
    turn.session.add(suspicion)


async def _already_answered(turn: Turn, suspicion: SuspectedDuplicate) -> None:
    """A second press: say what the first one did."""
    ticket = await ticket_by_id(turn.session, ticket_id=suspicion.ticket_id) if suspicion.ticket_id else None
    if ticket is not None:
        turn.say(turn.t("monitor.already_filed", reference=ticket.reference))
    else:
        turn.say(turn.t("monitor.already_answered"))


async def _refund_the_repeat(turn: Turn, suspicion: SuspectedDuplicate) -> None:
    """File a ticket for the later charge, already verified, and approve it if the policy allows."""
    session = turn.session
    original = await session.get(Transaction, suspicion.original_transaction_id)
    repeat = await session.get(Transaction, suspicion.transaction_id)
    assert original is not None and repeat is not None  # charges are never deleted
    refunded = await refunded_charges(session, [original.transaction_id, repeat.transaction_id])
    if refunded:
        suspicion.status = SuspicionStatus.CONFIRMED
        # Paid back once already (either payment): refunding the repeat now would pay back both.
        key = "monitor.already_refunded" if repeat.transaction_id in refunded else "monitor.other_refunded"
        turn.say(turn.t(key))
        return
    existing = await open_ticket_for_order(session, user_id=turn.user.id, order_id=repeat.order_id)
    # A report of the other order may already name this charge as its duplicate (matched across orders).
    existing = existing or await open_ticket_naming_duplicate(
        session, user_id=turn.user.id, transaction_id=repeat.transaction_id, role=ChargeRole.DUPLICATE.value
    )
    if existing is not None:
        suspicion.status, suspicion.ticket_id = SuspicionStatus.CONFIRMED, id_of(existing)
        turn.say(turn.t("monitor.already_filed", reference=existing.reference))
        return
    ticket = await _file(turn, original, repeat)
    suspicion.status, suspicion.ticket_id = SuspicionStatus.CONFIRMED, id_of(ticket)
    money = Money.from_minor(ticket.amount_minor, ticket.currency)
    turn.say(turn.t("monitor.filed", reference=ticket.reference,
                    amount=format_money(money.amount, money.currency, turn.locale)))
    if turn.policy is not None:
        call = await approve_if_allowed(session, turn.policy, ticket, now=turn.now, reason="filed")
        if call is not None:
            turn.refund_calls.append(call)


async def _file(turn: Turn, original: Transaction, repeat: Transaction) -> Ticket:
    """The ticket of a payer-confirmed repeat payment: no questions asked, the later charge to refund."""
    ticket = Ticket(
        reference=new_reference(),
        user_id=turn.user.id,
        chat_id=turn.event.chat_id,
        locale=turn.locale,
        order_id=repeat.order_id,
        amount_minor=repeat.amount_minor,
        currency=repeat.currency,
        paid_at=repeat.created_at,
        status=TicketStatus.VERIFIED,
        payer_check=PayerCheck.LINKED,
        report_key=secrets.token_hex(8),
        open_order_key=open_order_key(user_id=turn.user.id, order_id=repeat.order_id),
        created_at=turn.now,
        updated_at=turn.now,
    )
    matches = [(original.transaction_id, ChargeRole.ORIGINAL.value),
               (repeat.transaction_id, ChargeRole.DUPLICATE.value)]
    return await add_ticket(turn.session, ticket=ticket, matches=matches,
                            actor=f"payer:{turn.user.id} (monitor)", now=turn.now)
