"""A payer's answer to a support question goes back into the ticket's thread."""

from handlers.events import EventKind
from handlers.evidence.images import check_declared_file
from handlers.evidence.receiving import keep_evidence, received_image
from handlers.parsing import InputRejected
from handlers.payer.turn import Turn
from handlers.refunds.lifecycle import move_ticket
from storage.models import TicketStatus
from storage.support_cards import ticket_awaiting_answer


async def relay_answer(turn: Turn) -> bool:
    """If support asked this payer something, pass their text or photo on; False if nothing was asked."""
    event = turn.event
    if turn.policy is None or event.kind not in (EventKind.TEXT, EventKind.PHOTO, EventKind.DOCUMENT):
        return False
    ticket = await ticket_awaiting_answer(turn.session, user_id=turn.user.id)
    if ticket is None:
        return False
    notifier, dedupe = turn.policy.notifier, f"answer:{event.update_id}"
    if event.kind is EventKind.TEXT:
        await notifier.tell_support(
            turn.session, ticket, "desk.answer", now=turn.now, dedupe=dedupe, text=event.text[:3500]
        )
    else:
        assert event.attachment is not None  # photos and documents carry one
        try:
            check_declared_file(event.attachment, is_document=event.kind is EventKind.DOCUMENT)
            sha256 = await keep_evidence(turn, received_image(turn))  # downloaded before the transaction
        except InputRejected as rejection:
            turn.say(turn.t(rejection.key, **rejection.params))
            return True
        await notifier.tell_support(
            turn.session, ticket, "desk.answer_photo", now=turn.now, dedupe=dedupe, photo_sha256=sha256
        )
    await move_ticket(
        turn.session,
        ticket,
        TicketStatus.NEEDS_REVIEW,
        actor=f"payer:{turn.user.id}",
        note="answered",
        now=turn.now,
    )
    turn.say(turn.t("notice.answer_received", reference=ticket.reference))
    return True
