"""A payer's buttons on their own tickets: received, not yet, rating, cancel."""

from handlers.buttons import TicketAction, TicketButton
from handlers.events import Toast
from handlers.money import Money
from handlers.payer.turn import Turn
from handlers.refunds.lifecycle import PAYER_CANCELLABLE, move_ticket
from handlers.refunds.refunding import LEDGER, land_refund
from handlers.texts import format_money
from storage.models import Ticket, TicketStatus, id_of
from storage.refunds import refund_of_ticket
from storage.tickets import ticket_by_reference


async def press_ticket_button(turn: Turn, button: TicketButton) -> None:
    """Act on a ticket button if the presser owns the ticket and its state allows."""
    ticket = await ticket_by_reference(turn.session, reference=button.reference, lock=True)
    if ticket is None or ticket.user_id != turn.user.id:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    await ACTIONS[button.action](turn, ticket, button)


async def _received(turn: Turn, ticket: Ticket, button: TicketButton) -> None:
    actor = f"payer:{turn.user.id}"
    if ticket.status == TicketStatus.REFUNDED:
        ticket.receipt = "received"
        turn.say(turn.t("receipt.thanks", reference=ticket.reference))
    elif ticket.status == TicketStatus.REFUND_PENDING:
        refund = await refund_of_ticket(turn.session, ticket_id=id_of(ticket))
        assert refund is not None  # a ticket waiting for its refund has one
        ticket.receipt = "received"
        if turn.policy and refund.provider == LEDGER:
            await land_refund(turn.session, turn.policy, ticket, refund, actor=actor, now=turn.now)
            turn.say(turn.t("receipt.thanks", reference=ticket.reference))
        else:
            turn.say(turn.t("receipt.noted", reference=ticket.reference))
    else:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
    turn.session.add(ticket)


async def _not_yet(turn: Turn, ticket: Ticket, button: TicketButton) -> None:
    if ticket.status != TicketStatus.REFUNDED:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    ticket.receipt = "not_yet"
    await move_ticket(turn.session, ticket, TicketStatus.NEEDS_REVIEW, actor=f"payer:{turn.user.id}",
                      note="payer says the refund has not arrived", now=turn.now)
    if turn.policy:
        notifier = turn.policy.notifier
        await notifier.need_person(turn.session, ticket, now=turn.now, reason="not_yet")
        money = Money.from_minor(ticket.amount_minor, ticket.currency)
        await notifier.tell_support(
            turn.session, ticket, "notice.reopened_support", now=turn.now,
            dedupe=f"not_yet:{turn.event.update_id}",  # each "Not yet" is news, the second one too
            amount=format_money(money.amount, money.currency, notifier.support_locale))
    turn.say(turn.t("receipt.not_yet", reference=ticket.reference))


async def _rate(turn: Turn, ticket: Ticket, button: TicketButton) -> None:
    if ticket.status != TicketStatus.REFUNDED or button.stars is None:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    ticket.rating = button.stars
    turn.session.add(ticket)
    turn.say(turn.t("receipt.rated", rating=str(button.stars)))


async def _cancel(turn: Turn, ticket: Ticket, button: TicketButton) -> None:
    refund = await refund_of_ticket(turn.session, ticket_id=id_of(ticket))
    if ticket.status not in PAYER_CANCELLABLE or refund is not None:
        turn.say(turn.t("ticket.cannot_cancel", reference=ticket.reference,
                        status=turn.t(f"status.{ticket.status}")))
        return
    await move_ticket(turn.session, ticket, TicketStatus.CANCELLED, actor=f"payer:{turn.user.id}",
                      note="cancelled by the payer", now=turn.now)
    turn.say(turn.t("ticket.cancelled", reference=ticket.reference))


ACTIONS = {
    TicketAction.RECEIVED: _received,
    TicketAction.NOT_YET: _not_yet,
    TicketAction.RATE: _rate,
    TicketAction.CANCEL: _cancel,
}
