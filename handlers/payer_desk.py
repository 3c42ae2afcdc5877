"""The private chat with a payer: one event in, the answers out, in one transaction."""

import logging
from dataclasses import dataclass

from handlers import answers, intake, payer_menu, payer_tickets
from handlers.events import Event, EventKind, Output, Reply, Toast
from handlers.intake import Input
from handlers.ports import Clock, FileDownloader
from handlers.refunding import RefundPolicy
from handlers.texts import Texts, pick_locale
from handlers.turn import IntakeRules, Turn
from storage.conversations import lock_conversation
from storage.database import Database
from storage.evidence_files import EvidenceFiles
from storage.updates import claim_update
from storage.users import remember_user, set_reachable

log = logging.getLogger(__name__)


@dataclass
class PayerDesk:
    """Answers payers in private chats; the same for every runtime."""

    db: Database
    texts: Texts
    rules: IntakeRules
    evidence: EvidenceFiles
    files: FileDownloader
    clock: Clock
    default_locale: str = "en"
    policy: RefundPolicy | None = None

    async def handle(self, event: Event) -> list[Output]:
        """Handle one update exactly once; a redelivered update gets no answer."""
        try:
            async with self.db.transaction() as session:
                now = self.clock()
                if not await claim_update(session, update_id=event.update_id, now=now):
                    return []
                user = await remember_user(
                    session,
                    user_id=event.person.id,
                    first_name=event.person.first_name,
                    username=event.person.username,
                    guessed_locale=pick_locale(event.person.language_code, self.default_locale),
                    now=now,
                )
                conversation = await lock_conversation(
                    session, user_id=user.id, chat_id=event.chat_id, now=now
                )
                if event.kind is EventKind.MEMBERSHIP:
                    await set_reachable(session, user_id=user.id, reachable=not event.blocked)
                    return []
                turn = Turn(event, session, user, conversation, now, self.texts, self.rules,
                            self.evidence, self.files, self.policy)
                await route(turn)
                session.add(conversation)
                return turn.outcome.outputs
        except Exception:
            log.exception("update %s failed; nothing was saved", event.update_id)
            locale = pick_locale(event.person.language_code, self.default_locale)
            return [Reply(self.texts.get(locale, "error.internal"))]


COMMANDS = {
    "start": lambda turn: (payer_menu.welcome(turn), intake.repeat_question(turn)),
    "report": intake.start_report,
    "cancel": intake.cancel_report,
    "help": lambda turn: (payer_menu.show_help(turn), intake.repeat_question(turn)),
    "language": payer_menu.offer_languages,
}


async def route(turn: Turn) -> None:
    """Commands and menu buttons work at any step; everything else goes to the report."""
    event = turn.event
    if event.kind is EventKind.COMMAND:
        await run_command(turn, event.command)
    elif event.kind is EventKind.BUTTON:
        await press_button(turn, event.button_data)
    elif _is_rest_of_album(turn):
        return  # the first image of an album was taken; the others are ignored
    elif not intake.in_report(turn):
        if not await answers.relay_answer(turn):
            payer_menu.show_menu_hint(turn)
    elif event.kind is EventKind.TEXT:
        await intake.take_input(turn, Input.TEXT)
    elif event.kind in (EventKind.PHOTO, EventKind.DOCUMENT):
        await intake.take_input(turn, Input.IMAGE)
    else:
        await intake.take_input(turn, Input.OTHER)  # stickers, voice, video …: no step takes them


def _is_rest_of_album(turn: Turn) -> bool:
    group = turn.event.media_group_id
    return bool(group) and group == turn.conversation.evidence_media_group


async def run_command(turn: Turn, command: str) -> None:
    """A slash command."""
    if command == "status":
        await payer_menu.list_tickets(turn)
        intake.repeat_question(turn)
        return
    action = COMMANDS.get(command)
    if action is None:
        turn.say(turn.t("command.unknown"))
        intake.repeat_question(turn)
        return
    action(turn)


async def press_button(turn: Turn, data: str) -> None:
    """An inline button; its data is checked, never trusted."""
    prefix, _, argument = data.partition(":")
    if prefix == intake.BUTTON_PREFIX:
        await intake.press_report_button(turn, data)
        return
    if prefix == payer_tickets.BUTTON_PREFIX:
        await payer_tickets.press_ticket_button(turn, data)
        return
    handled = False
    if prefix == "menu" and argument in ("report", "status", "help", "language"):
        await run_command(turn, argument)
        handled = True
    elif prefix == "help":
        handled = payer_menu.answer_help(turn, argument)
    elif prefix == "lang":
        handled = await payer_menu.set_language(turn, argument)
        if handled:
            intake.repeat_question(turn)
    if not handled:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
