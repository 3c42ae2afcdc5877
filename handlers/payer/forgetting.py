"""/forget: a payer's data deleted after a confirmation; refund records stay, without the person's details."""

import logging
import secrets
from datetime import UTC, datetime

from handlers.buttons import ForgetButton, ForgetChoice
from handlers.events import Toast
from handlers.payer.turn import Turn
from handlers.ports import EvidenceStore, EvidenceUnavailable
from handlers.refunds.lifecycle import move_ticket
from handlers.texts import format_items
from storage.forgetting import forget_person, lock_user, open_tickets_of, references_of
from storage.models import Ticket, TicketStatus, id_of
from storage.refunds import refund_of_ticket

log = logging.getLogger(__name__)

# Money is moving (or support may still retry it): the payer must stay reachable until it lands.
REFUND_UNDER_WAY = frozenset({TicketStatus.APPROVED, TicketStatus.REFUND_PENDING, TicketStatus.REFUND_FAILED})


async def ask_to_forget(turn: Turn) -> None:
    """/forget: say what would be deleted and kept, with Delete / Keep buttons tied to this request."""
    open_tickets = await open_tickets_of(turn.session, user_id=turn.user.id)
    if under_way := await _refunds_under_way(turn, open_tickets):
        _refuse(turn, under_way)
        return
    turn.user.forget_key = secrets.token_hex(4)
    turn.session.add(turn.user)
    text = turn.t("forget.ask")
    if open_tickets:
        text += "\n\n" + turn.t("forget.ask_open_tickets", references=_listed(turn, open_tickets))
    key = turn.user.forget_key
    turn.say(text, ((
        turn.button("forget.confirm_button", ForgetButton(key, ForgetChoice.CONFIRM).pack()),
        turn.button("forget.keep_button", ForgetButton(key, ForgetChoice.KEEP).pack()),
    ),))


async def press_forget_button(turn: Turn, button: ForgetButton) -> None:
    """Delete or keep, if the button belongs to the payer's latest /forget; anything else is stale."""
    user = await lock_user(turn.session, user_id=turn.user.id)
    if user is None or user.forget_key is None or user.forget_key != button.key:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    user.forget_key = None
    turn.session.add(user)
    if button.choice is ForgetChoice.KEEP:
        turn.say(turn.t("forget.kept"))
        return
    open_tickets = await open_tickets_of(turn.session, user_id=user.id)
    if under_way := await _refunds_under_way(turn, open_tickets):
        _refuse(turn, under_way)  # a refund started between the question and the answer
        return
    await _forget(turn, open_tickets)


async def _forget(turn: Turn, open_tickets: list[Ticket]) -> None:
    """Close the open tickets, delete the person, and their files once that is committed."""
    for ticket in open_tickets:
        await move_ticket(turn.session, ticket, TicketStatus.CANCELLED, actor=f"payer:{turn.user.id}",
                          note="cancelled: the payer asked for their data to be deleted", now=turn.now)
    references = await references_of(turn.session, user_id=turn.user.id)
    answer = turn.t("forget.done")  # in their language, before the language is forgotten
    if references:
        answer += "\n\n" + turn.t("forget.done_tickets", references=format_items(references, turn.locale))
    forgotten = await forget_person(turn.session, user_id=turn.user.id, chat_ids=[turn.event.chat_id])
    # File times are the file system's: bytes someone sends again from now on are spared (wall clock).
    decided_at = datetime.now(UTC)
    turn.files_to_delete.extend((sha256, decided_at) for sha256 in forgotten.evidence_sha256s)
    turn.say(answer)


async def delete_forgotten_files(evidence: EvidenceStore, files: list[tuple[str, datetime]]) -> None:
    """After the commit: the files of deleted evidence rows (bytes received again since are someone else's).

    A store that is down leaves them as files without a row, which the evidence clean-up removes later.
    """
    for sha256, moment in files:
        try:
            await evidence.delete(sha256, unless_modified_after=moment)
        except (EvidenceUnavailable, OSError) as error:
            log.error("could not delete forgotten evidence %s now (the clean-up will): %s", sha256, error)


async def _refunds_under_way(turn: Turn, open_tickets: list[Ticket]) -> list[Ticket]:
    """The open tickets whose refund is approved, being paid or may be retried, or has a live refund."""
    under_way = []
    for ticket in open_tickets:
        if ticket.status in REFUND_UNDER_WAY or await refund_of_ticket(turn.session, ticket_id=id_of(ticket)):
            under_way.append(ticket)
    return under_way


def _refuse(turn: Turn, under_way: list[Ticket]) -> None:
    turn.say(turn.t("forget.refused_refund", references=_listed(turn, under_way)))


def _listed(turn: Turn, tickets: list[Ticket]) -> str:
    return format_items([ticket.reference for ticket in tickets], turn.locale)
