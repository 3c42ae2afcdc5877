"""Refund this charge: an agent names one of a ticket's candidate charges as its duplicate, then approves."""

from typing import TYPE_CHECKING

from handlers.buttons import CandidateButton
from handlers.events import Reply, Toast
from handlers.matching import ChargeRole
from handlers.refunds.lifecycle import note_on_ticket
from handlers.support.candidates import new_roles, short_transaction
from handlers.support.cards import ACTION_STATUSES
from storage.models import RefundStatus, id_of
from storage.refunds import refund_of_ticket
from storage.support_cards import card_of
from storage.tickets import matches_of, replace_matches, ticket_by_reference

if TYPE_CHECKING:
    from handlers.support.desk import DeskTurn, SupportDesk


async def press_candidate_button(desk: "SupportDesk", turn: "DeskTurn", button: CandidateButton) -> None:
    """Lock the ticket, find the charge among its current candidates, check it again, name it, approve.

    A charge with a refund (through any ticket) is refused with its ticket named; nothing changes unless
    the refund request is recorded too.
    """
    session, actor = turn.session, f"agent:{turn.event.person.id}"
    ticket = await ticket_by_reference(session, reference=button.reference, lock=True)
    if ticket is None:
        turn.outputs.append(Toast(desk.t("button.stale")))
        return
    card = await card_of(session, ticket_id=id_of(ticket), lock=True)
    if ticket.status not in ACTION_STATUSES["pick"]:
        who = card.last_actor_name if card and card.last_actor_name else "?"
        status = desk.t(f"status.{ticket.status}")
        turn.outputs.append(Toast(desk.t("desk.too_late", status=status, name=who)))
        return
    candidates = await desk.renderer.candidates(session, ticket)
    picked = next((c for c in candidates if c.tag == button.charge_tag), None)
    if picked is None:  # forged, or no longer a candidate (the records changed)
        turn.outputs.append(Toast(desk.t("button.stale")))
        return
    charge, reference = picked.charge, ticket.reference
    own = await refund_of_ticket(session, ticket_id=id_of(ticket))
    if own is not None and own.status != RefundStatus.FAILED:
        turn.outputs.append(await desk._existing_refund(turn, ticket, own))
        return
    if picked.refund is not None:
        other = await desk._other_ticket(turn, picked.refund)
        turn.outputs.append(Reply(desk.t("desk.charge_taken", reference=reference, other=other)))
        return
    if not picked.refundable:
        turn.outputs.append(Reply(desk.t("desk.pick_not_refundable", reference=reference,
                                         transaction=short_transaction(charge.transaction_id),
                                         status=charge.status)))
        return
    roles = {match.transaction_id: match.role for match in await matches_of(session, ticket_id=id_of(ticket))}
    matches = new_roles(roles, candidates, picked)
    original = next((tx for tx, role in matches if role == ChargeRole.ORIGINAL), None)

    async def name_the_duplicate() -> None:
        await replace_matches(session, ticket_id=id_of(ticket), matches=matches)
        note = (f"{turn.agent} picked charge {charge.transaction_id} (order {charge.order_id or '—'}) as the "
                f"duplicate; original: {original or 'none'}")
        await note_on_ticket(session, ticket, actor=actor, note=note, now=turn.now)

    if await desk.request(turn, ticket, card, "desk.pick", before=name_the_duplicate):
        turn.outputs.append(Reply(desk.t("desk.picked", reference=reference, name=turn.agent,
                                         transaction=short_transaction(charge.transaction_id),
                                         order=charge.order_id or "—")))
    if card is not None:
        card.touched_at, card.sla_pings = turn.now, 0
        session.add(card)
