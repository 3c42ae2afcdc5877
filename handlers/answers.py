"""A payer's answer to a support question goes back into the ticket's thread."""

from handlers.events import EventKind
from handlers.lifecycle import move_ticket
from handlers.parsing import InputRejected
from handlers.ports import FileUnavailable
from handlers.screenshots import check_declared_file, image_type_of
from handlers.turn import Turn
from storage.models import TicketStatus
from storage.support_cards import ticket_awaiting_answer
from storage.tickets import record_evidence


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
        try:
            check_declared_file(event.attachment, is_document=event.kind is EventKind.DOCUMENT)
            data = await turn.files.download(event.attachment.file_id)
            mime_type = image_type_of(data)
        except (InputRejected, FileUnavailable) as rejection:
            key = rejection.key if isinstance(rejection, InputRejected) else "screenshot.download_failed"
            turn.say(turn.t(key, **getattr(rejection, "params", {})))
            return True
        sha256 = turn.evidence.save(data)
        await record_evidence(turn.session, sha256=sha256, mime_type=mime_type, size=len(data), now=turn.now)
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
