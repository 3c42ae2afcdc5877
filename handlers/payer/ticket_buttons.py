"""A payer's buttons on their own tickets: received, not yet, rating, cancel."""

from handlers.events import Toast
from handlers.money import Money
from handlers.payer.turn import Turn
from handlers.refunds.lifecycle import PAYER_CANCELLABLE, move_ticket
from handlers.refunds.refunding import LEDGER, land_refund
from handlers.texts import format_money
from storage.models import Ticket, TicketStatus
from storage.refunds import refund_of_ticket
from storage.tickets import ticket_by_reference

BUTTON_PREFIX = "tk"


async def press_ticket_button(turn: Turn, data: str) -> None:
    """Act on `tk:<reference>:<action>[:<argument>]` if the presser owns the ticket and its state allows."""
    _, reference, action, argument = [*data.split(":", 3), "", "", ""][:4]
    ticket = await ticket_by_reference(turn.session, reference=reference, lock=True)
    actions = {"received": _received, "notyet": _not_yet, "rate": _rate, "cancel": _cancel}
    if ticket is None or ticket.user_id != turn.user.id or action not in actions:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    await actions[action](turn, ticket, argument)


async def _received(turn: Turn, ticket: Ticket, argument: str) -> None:
    actor = f"payer:{turn.user.id}"
    if ticket.status == TicketStatus.REFUNDED:
        ticket.receipt = "received"
        turn.say(turn.t("receipt.thanks", reference=ticket.reference))
    elif ticket.status == TicketStatus.REFUND_PENDING:
        refund = await refund_of_ticket(turn.session, ticket_id=ticket.id)
        ticket.receipt = "received"
        if turn.policy and refund.provider == LEDGER:
            await land_refund(turn.session, turn.policy, ticket, refund, actor=actor, now=turn.now)
            turn.say(turn.t("receipt.thanks", reference=ticket.reference))
        else:
            turn.say(turn.t("receipt.noted", reference=ticket.reference))
    else:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
    turn.session.add(ticket)


async def _not_yet(turn: Turn, ticket: Ticket, argument: str) -> None:
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


async def _rate(turn: Turn, ticket: Ticket, argument: str) -> None:
    if ticket.status != TicketStatus.REFUNDED or argument not in {"1", "2", "3", "4", "5"}:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    ticket.rating = int(argument)
    turn.session.add(ticket)
    turn.say(turn.t("receipt.rated", rating=argument))


async def _cancel(turn: Turn, ticket: Ticket, argument: str) -> None:
    refund = await refund_of_ticket(turn.session, ticket_id=ticket.id)
    if ticket.status not in PAYER_CANCELLABLE or refund is not None:
        turn.say(turn.t("ticket.cannot_cancel", reference=ticket.reference,
                        status=turn.t(f"status.{ticket.status}")))
        return
    await move_ticket(turn.session, ticket, TicketStatus.CANCELLED, actor=f"payer:{turn.user.id}",
                      note="cancelled by the payer", now=turn.now)
    turn.say(turn.t("ticket.cancelled", reference=ticket.reference))
