"""The private chat with a payer: one event in, the answers out, in one transaction (files fetched first)."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import (
    ForgetButton,
    HelpButton,
    LanguageButton,
    MenuButton,
    RepeatButton,
    ReportButton,
    TicketButton,
    TipsButton,
)
from handlers.events import Event, EventKind, Output, Reply, Toast
from handlers.evidence.bills import BillKind, ReceivedBill, bill_kind, check_declared_bill
from handlers.evidence.images import ReceivedImage, check_declared_file
from handlers.evidence.received import Received
from handlers.evidence.receiving import Keeping, receive_bill, receive_image
from handlers.merchant.routing import merchant_turn
from handlers.monitor.answers import answer_repeat
from handlers.parsing import InputRejected
from handlers.payer import answers, forgetting, intake, menu, ticket_buttons, tips
from handlers.payer.intake import Input, Step
from handlers.payer.linking import link_from_start
from handlers.payer.turn import IntakeRules, Turn
from handlers.ports import Clock, CountChartDrawer, EvidenceStore, FileDownloader
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.requests import send_refund_requests
from handlers.texts import Texts, pick_locale
from storage.conversations import report_step, user_and_conversation
from storage.database import Database
from storage.models import Conversation, User
from storage.support_cards import ticket_awaiting_answer
from storage.updates import claim_update
from storage.users import set_reachable

log = logging.getLogger(__name__)
DECODES_AT_ONCE = 2


@dataclass
class PayerDesk:
    """Answers payers in private chats; the same for every runtime."""

    db: Database
    texts: Texts
    rules: IntakeRules
    evidence: EvidenceStore
    files: FileDownloader
    clock: Clock
    default_locale: str = "en"
    policy: RefundPolicy | None = None
    charts: CountChartDrawer | None = None  # the merchant's dashboard chart
    decoding: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(DECODES_AT_ONCE))

    async def handle(self, event: Event) -> list[Output]:
        """Handle one update exactly once; a redelivered update gets no answer.

        An image the conversation waits for (or a wallet bill at the screenshot step) is downloaded and
        checked first, with no transaction open.
        """
        try:
            received = await self._receive_image(event)
            bill = await self._receive_bill(event)
            async with self.db.transaction() as session:
                now = self.clock()
                if not await claim_update(session, update_id=event.update_id, now=now):
                    return []
                user, conversation = await self._user_and_conversation(session, event, now)
                if event.kind is EventKind.MEMBERSHIP:
                    await set_reachable(session, user_id=user.id, reachable=not event.blocked)
                    return []
                turn = Turn(event, session, user, conversation, now, self.texts, self.rules,
                            self.evidence, self.policy, received_image=received, received_bill=bill,
                            charts=self.charts)
                await route(turn)
                session.add(conversation)
            await send_refund_requests(self.db, self.policy, self.clock, turn.refund_calls)
            if turn.files_to_delete:
                await forgetting.delete_forgotten_files(self.evidence, turn.files_to_delete)
            await self._discard_unkept(event, turn, received, bill)
            return turn.outcome.outputs
        except Exception:
            log.exception("update %s failed; nothing was saved", event.update_id)
            locale = pick_locale(event.person.language_code, self.default_locale)
            return [Reply(self.texts.get(locale, "error.internal"))]

    async def _user_and_conversation(
        self, session: AsyncSession, event: Event, now: datetime
    ) -> tuple[User, Conversation]:
        """The sender (names refreshed) and their conversation, locked; both created on first contact."""
        person = event.person
        return await user_and_conversation(
            session, user_id=person.id, first_name=person.first_name, username=person.username,
            guessed_locale=pick_locale(person.language_code, self.default_locale), chat_id=event.chat_id,
            now=now,
        )

    async def _receive_image(self, event: Event) -> ReceivedImage | None:
        """Download and check the image the payer's conversation waits for, before any transaction opens."""
        if event.kind not in (EventKind.PHOTO, EventKind.DOCUMENT) or event.attachment is None:
            return None
        try:
            check_declared_file(event.attachment, is_document=event.kind is EventKind.DOCUMENT)
        except InputRejected:
            return None  # refused in its place, with nothing downloaded
        if not await self._waits_for_image(event):
            return None
        return await receive_image(self.files, event.attachment.file_id, self.decoding, self._keeping(event))

    async def _receive_bill(self, event: Event) -> ReceivedBill | None:
        """Download and read a wallet bill (CSV) sent at the screenshot step, before any transaction opens."""
        if event.kind is not EventKind.DOCUMENT or event.attachment is None:
            return None
        if bill_kind(event.attachment) is not BillKind.CSV or not self.rules.merchant_names:
            return None  # a spreadsheet, or nothing to match a bill against: answered in its place
        try:
            check_declared_bill(event.attachment)
        except InputRejected:
            return None  # refused in its place, with nothing downloaded
        if not await self._at_screenshot_step(event):
            return None
        return await receive_bill(self.files, event.attachment.file_id, self._keeping(event))

    async def _discard_unkept(self, event: Event, turn: Turn, *received: Received[Any] | None) -> None:
        """Bytes stored before the transaction that the turn refused (e.g. a bill matching nothing)."""
        stored = [r.value.sha256 for r in received if r is not None and r.value is not None]
        unkept = [sha256 for sha256 in stored if sha256 not in turn.evidence_recorded]
        if unkept:
            await self._keeping(event).discard_unrecorded(unkept)

    def _keeping(self, event: Event) -> Keeping:
        """Where the sender's checked file is stored before the transaction, within their quota."""
        return Keeping(self.db, self.evidence, event.person.id, self.rules.evidence_quota_bytes)

    async def _at_screenshot_step(self, event: Event) -> bool:
        """A short look: is the report at the screenshot step, the only place a bill is taken?"""
        return await report_step(self.db.engine, user_id=event.person.id) == Step.SCREENSHOT

    async def _waits_for_image(self, event: Event) -> bool:
        """A short look: is the report at the screenshot step, or did support ask this payer something?

        If that changes before the update's own transaction, the bytes simply go unused.
        """
        step = await report_step(self.db.engine, user_id=event.person.id)
        if step is not None:
            return step == Step.SCREENSHOT
        if self.policy is None:
            return False
        async with self.db.transaction() as session:
            return await ticket_awaiting_answer(session, user_id=event.person.id) is not None


async def _start(turn: Turn) -> None:
    """/start, or /start <token> from a merchant's deep link: link the payer first, then the welcome."""
    if token := turn.event.args.strip():
        await link_from_start(turn, token)
    menu.welcome(turn)
    intake.repeat_question(turn)


def _help(turn: Turn) -> None:
    menu.show_help(turn)
    intake.repeat_question(turn)


def _tips(turn: Turn) -> None:
    tips.tips_command(turn)
    intake.repeat_question(turn)


COMMANDS: dict[str, Callable[[Turn], None]] = {
    "cancel": intake.cancel_report,
    "help": _help,
    "language": menu.offer_languages,
    "tips": _tips,
}


async def route(turn: Turn) -> None:
    """Commands and menu buttons work at any step; everything else goes to the report."""
    event = turn.event
    if await merchant_turn(turn):
        return
    if event.kind is EventKind.COMMAND:
        await run_command(turn, event.command)
    elif event.kind is EventKind.BUTTON:
        await press_button(turn, event.button_data)
    elif _is_rest_of_album(turn):
        return  # the first image of an album was taken; the others are ignored
    elif not intake.in_report(turn):
        if not await answers.relay_answer(turn):
            menu.show_menu_hint(turn)
    elif event.kind is EventKind.TEXT:
        await intake.take_input(turn, Input.TEXT)
    elif event.kind in (EventKind.PHOTO, EventKind.DOCUMENT):
        await intake.take_input(turn, Input.BILL if _is_bill(event) else Input.IMAGE)
    else:
        await intake.take_input(turn, Input.OTHER)  # stickers, voice, video …: no step takes them


def _is_bill(event: Event) -> bool:
    """A document declared as a CSV or a spreadsheet: a wallet bill, not a screenshot."""
    attachment = event.attachment
    return event.kind is EventKind.DOCUMENT and attachment is not None and bill_kind(attachment) is not None


def _is_rest_of_album(turn: Turn) -> bool:
    group = turn.event.media_group_id
    return bool(group) and group == turn.conversation.evidence_media_group


async def run_command(turn: Turn, command: str) -> None:
    """A slash command."""
    if command == "status":
        await menu.list_tickets(turn)
        intake.repeat_question(turn)
        return
    if command == "report":
        await intake.start_report(turn)
        return
    if command == "start":
        await _start(turn)
        return
    if command == "forget":
        await forgetting.ask_to_forget(turn)
        return
    action = COMMANDS.get(command)
    if action is None:
        turn.say(turn.t("command.unknown"))
        intake.repeat_question(turn)
        return
    action(turn)


async def press_button(turn: Turn, data: str) -> None:
    """An inline button; its data is checked, never trusted."""
    if (report := ReportButton.parse(data)) is not None:
        await intake.press_report_button(turn, report)
        return
    if (ticket := TicketButton.parse(data)) is not None:
        await ticket_buttons.press_ticket_button(turn, ticket)
        return
    if (repeat := RepeatButton.parse(data)) is not None:
        await answer_repeat(turn, repeat)
        return
    if (forget := ForgetButton.parse(data)) is not None:
        await forgetting.press_forget_button(turn, forget)
        return
    if (tips_button := TipsButton.parse(data)) is not None:
        tips.press_tips_button(turn, tips_button)
        return
    handled = False
    if (menu_button := MenuButton.parse(data)) is not None:
        await run_command(turn, menu_button.command.value)
        handled = True
    elif (help_button := HelpButton.parse(data)) is not None:
        handled = menu.answer_help(turn, help_button.topic)
    elif (language_button := LanguageButton.parse(data)) is not None:
        handled = await menu.set_language(turn, language_button.code)
        if handled:
            intake.repeat_question(turn)
    if not handled:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
