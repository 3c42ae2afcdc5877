"""Ticket cards in the support group: posted when a ticket needs a person, kept in step with its status."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import CandidateButton, DeskAction, DeskButton
from handlers.events import Button
from handlers.evidence.bills import BILL_MIME_TYPE
from handlers.matching import ChargeRole
from handlers.money import Money
from handlers.ports import Clock, EvidenceStore, MessageGone, Messenger, ThreadGone
from handlers.support.candidates import (
    CANDIDATE_STATUSES,
    DEFAULT_WINDOW,
    SHOWN,
    Candidate,
    candidate_charges,
    masked_payer,
    short_transaction,
    shown,
)
from handlers.texts import Texts, format_moment, format_money
from storage.database import Database
from storage.models import (
    OutboxMessage,
    PayerCheck,
    SupportCard,
    Ticket,
    TicketStatus,
    Transaction,
    User,
    id_of,
)
from storage.support_cards import (
    card_of,
    cards_out_of_date,
    charges_of_ticket,
    other_tickets_with_screenshot,
    reports_since,
    reserve_card,
)
from storage.tickets import evidence_by_sha256

log = logging.getLogger(__name__)
ROLE_MARKS: dict[str, str] = {
    ChargeRole.DUPLICATE: "card.role_duplicate",
    ChargeRole.ORIGINAL: "card.role_original",
}
ACTIONABLE = frozenset({TicketStatus.VERIFIED, TicketStatus.NEEDS_REVIEW, TicketStatus.NEEDS_INFO})
WAITING_FOR_A_PERSON = frozenset(
    {TicketStatus.VERIFIED, TicketStatus.NEEDS_REVIEW, TicketStatus.NEEDS_INFO, TicketStatus.REFUND_FAILED}
)
S = TicketStatus
# Where each card button may act; Assign works whatever the status.
ACTION_STATUSES = {
    "approve": ACTIONABLE,
    "ask": ACTIONABLE,
    "reject": ACTIONABLE | {S.REFUND_FAILED},
    "retry": frozenset({S.REFUND_FAILED}),
    "details": frozenset({S.NEEDS_REVIEW, S.NEEDS_INFO}),
    "assign": frozenset(S),
    "outside": ACTIONABLE | {S.REFUND_FAILED},
    "pick": CANDIDATE_STATUSES,  # a candidate charge's "Refund this charge"
}
MANY_REPORTS = 3
Rows = tuple[tuple[Button, ...], ...]


@dataclass
class SupportSettings:
    """The support group: who may act, its language, SLA, prompt timeout (topics: found at start-up)."""

    chat_id: int | None
    agent_ids: frozenset[int] = frozenset()
    locale: str = "en"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    sla: timedelta | None = timedelta(hours=4)  # None: SUPPORT_SLA=off, no pings
    topics: bool = False
    prompt_timeout: timedelta = timedelta(minutes=15)


@dataclass
class CardRenderer:
    """What a card says, in the support group's language."""

    texts: Texts
    support: SupportSettings
    duplicate_window: timedelta = DEFAULT_WINDOW  # as RefundPolicy.duplicate_window: what is a candidate

    def t(self, key: str, **params: object) -> str:
        return self.texts.get(self.support.locale, key, **params)

    def status(self, ticket: Ticket) -> str:
        return self.t(f"status.{ticket.status}")

    def topic_name(self, ticket: Ticket) -> str:
        return self.t("topic.name", reference=ticket.reference, status=self.status(ticket))

    async def text(
        self, session: AsyncSession, ticket: Ticket, card: SupportCard | None, now: datetime
    ) -> str:
        locale, zone = self.support.locale, self.support.zone
        user = await session.get(User, ticket.user_id)
        money = Money.from_minor(ticket.amount_minor, ticket.currency)
        lines = [
            self.t("card.title", reference=ticket.reference, status=self.status(ticket)),
            self.t(
                "card.payer",
                name=user.first_name if user else "?",
                user_id=ticket.user_id,
                language=user.locale if user else ticket.locale,
            ),
            self.t(
                "card.facts",
                order=ticket.order_id or "—",
                amount=format_money(money.amount, money.currency, locale),
                paid_at=format_moment(ticket.paid_at, zone, locale, day_only=ticket.paid_on_day_only),
            ),
        ]
        charges = await charges_of_ticket(session, ticket_id=id_of(ticket))
        if ticket.status in CANDIDATE_STATUSES:
            lines.extend(await self.candidate_lines(session, ticket))
        elif charges:
            lines.append(self.t("card.charges_header"))
            for charge, role in charges[:6]:
                amount = Money.from_minor(charge.amount_minor, charge.currency)
                mark = ROLE_MARKS.get(role)
                lines.append(
                    self.t(
                        "card.charge_line",
                        time=format_moment(charge.created_at, zone, locale),
                        amount=format_money(amount.amount, amount.currency, locale),
                        status=charge.status,
                        role=self.t(mark) if mark else "",
                    )
                )
        elif ticket.order_id:
            lines.append(self.t("card.no_charges"))
        if await evidence_mime_type(session, ticket) == BILL_MIME_TYPE:
            lines.append(self.t("card.evidence_bill"))
        flags = await self.flags(session, ticket, charges, now)
        if flags:
            lines.append(self.t("card.flags", flags="; ".join(flags)))
        if card and card.assigned_name:
            lines.append(self.t("card.assigned", name=card.assigned_name))
        if card and card.last_actor_name:
            lines.append(self.t("card.last_action", name=card.last_actor_name))
        return "\n".join(lines)

    async def flags(
        self, session: AsyncSession, ticket: Ticket, charges: Sequence[tuple[Transaction, str]], now: datetime
    ) -> list[str]:
        flags = [self.t("card.flag_not_payer")] if ticket.payer_check == PayerCheck.NOT_LINKED else []
        if ticket.evidence_sha256:
            others = await other_tickets_with_screenshot(
                session, sha256=ticket.evidence_sha256, ticket_id=id_of(ticket)
            )
            if others:
                flags.append(self.t("card.flag_same_screenshot", references=", ".join(others[:3])))
        count = await reports_since(session, user_id=ticket.user_id, since=now - timedelta(days=30))
        if count >= MANY_REPORTS:
            flags.append(self.t("card.flag_many_reports", count=count))
        if charges and not any(
            c.amount_minor == ticket.amount_minor and c.currency == ticket.currency for c, _ in charges
        ):
            flags.append(self.t("card.flag_no_matching_amount"))
        return flags

    async def candidates(self, session: AsyncSession, ticket: Ticket) -> list[Candidate]:
        """The ticket's current candidate charges, if its card lists them (needs_review, needs_info)."""
        if ticket.status not in CANDIDATE_STATUSES:
            return []
        return await candidate_charges(session, ticket, window=self.duplicate_window)

    async def candidate_lines(self, session: AsyncSession, ticket: Ticket) -> list[str]:
        """The charges that could be the duplicate, numbered as their buttons are."""
        candidates = await self.candidates(session, ticket)
        if not candidates:
            return [self.t("card.no_candidates")]
        locale, zone = self.support.locale, self.support.zone
        lines = [self.t("card.candidates_header")]
        for number, candidate in enumerate(shown(candidates), 1):
            charge, refund = candidate.charge, candidate.refund
            amount = Money.from_minor(charge.amount_minor, charge.currency)
            mark = ROLE_MARKS.get(candidate.role or "")
            lines.append(
                self.t(
                    "card.candidate_line",
                    number=number,
                    time=format_moment(charge.created_at, zone, locale),
                    amount=format_money(amount.amount, amount.currency, locale),
                    order=charge.order_id or "—",
                    transaction=short_transaction(charge.transaction_id),
                    status=charge.status,
                    payer=masked_payer(charge.payer_id),
                    role=self.t(mark) if mark else "",
                    refund=self.t("card.candidate_refund", reference=refund.reference, status=refund.status)
                    if refund else "",
                )
            )
        if len(candidates) > SHOWN:
            lines.append(self.t("card.candidates_more", count=len(candidates) - SHOWN))
        return lines

    async def card_buttons(self, session: AsyncSession, ticket: Ticket) -> Rows:
        """The card's buttons, with "Refund this charge" under each refundable candidate it lists."""
        return self.buttons(ticket, await self.candidates(session, ticket))

    def buttons(self, ticket: Ticket, candidates: Sequence[Candidate] = ()) -> Rows:
        def data(action: DeskAction) -> str:
            return DeskButton(ticket.reference, action).pack()

        if ticket.status == TicketStatus.REFUND_FAILED:
            return (
                (
                    Button(self.t("desk.retry"), data(DeskAction.RETRY)),
                    Button(self.t("desk.reject"), data(DeskAction.REJECT)),
                ),
                (Button(self.t("desk.outside"), data(DeskAction.OUTSIDE)),),
            )
        if ticket.status not in ACTIONABLE:
            return ()
        return (
            (
                Button(self.t("desk.approve"), data(DeskAction.APPROVE)),
                Button(self.t("desk.reject"), data(DeskAction.REJECT)),
            ),
            (
                Button(self.t("desk.ask"), data(DeskAction.ASK)),
                Button(self.t("desk.assign"), data(DeskAction.ASSIGN)),
            ),
            (Button(self.t("desk.outside"), data(DeskAction.OUTSIDE)),),
            *(
                (Button(self.t("desk.refund_candidate", number=number),
                        CandidateButton(ticket.reference, candidate.tag).pack()),)
                for number, candidate in enumerate(shown(list(candidates)), 1)
                if candidate.refundable and ticket.status in CANDIDATE_STATUSES
            ),
        )


async def evidence_mime_type(session: AsyncSession, ticket: Ticket) -> str | None:
    """The recorded type of the ticket's evidence (image/…, or text/csv for a wallet bill), if known."""
    if not ticket.evidence_sha256:
        return None
    evidence = await evidence_by_sha256(session, sha256=ticket.evidence_sha256)
    return evidence.mime_type if evidence else None


@dataclass
class CardPublisher:
    """Posts cards (from the outbox) and edits them when their ticket moves on."""

    db: Database
    renderer: CardRenderer
    evidence: EvidenceStore
    messenger: Messenger
    clock: Clock

    @property
    def support(self) -> SupportSettings:
        return self.renderer.support

    @property
    def chat_id(self) -> int:
        """The support group: cards are only queued when one is configured."""
        assert self.support.chat_id is not None
        return self.support.chat_id

    async def deliver(self, message: OutboxMessage) -> None:
        """Post the card of `message.ticket_id` once: one topic and one card, whoever races or retries.

        The card's row is written first (empty), then the topic and the card go out under its row lock and
        are recorded with it: a racing sender waits and finds the card posted. A topic created before a
        failed send is kept on the row, so the retry posts into it instead of opening another. (A crash
        between Telegram's answer and the commit can leave one stray topic, as it can one message.)
        """
        now = self.clock()
        async with self.db.transaction() as session:
            ticket = await session.get(Ticket, message.ticket_id)
            assert ticket is not None  # a card message names its ticket
            await reserve_card(session, ticket_id=id_of(ticket), chat_id=self.chat_id, status=ticket.status,
                               now=now)
        photo = await self._photo_of(ticket)
        failure: Exception | None = None
        async with self.db.transaction() as session:
            card = await card_of(session, ticket_id=id_of(ticket), lock=True)
            assert card is not None  # reserved above; cards are never deleted
            ticket = await session.get(Ticket, id_of(ticket)) or ticket
            if card.message_id is not None:
                card.shown_status = None  # redraw: the reason it was asked for again may show on it
                session.add(card)
                return
            text = await self.renderer.text(session, ticket, card, now)
            buttons = await self.renderer.card_buttons(session, ticket)
            if not self.db.is_sqlite:  # hold the row lock over the calls (SQLite: one sender, one writer)
                failure = await self._post_card(card, ticket, text, buttons, photo)
                session.add(card)
        if self.db.is_sqlite:
            failure = await self._post_card(card, ticket, text, buttons, photo)
            async with self.db.transaction() as session:
                stored = await card_of(session, ticket_id=id_of(ticket), lock=True)
                assert stored is not None
                stored.thread_id, stored.message_id = card.thread_id, card.message_id
                stored.with_photo, stored.shown_status = card.with_photo, card.shown_status
                session.add(stored)
        if failure is not None:
            raise failure

    async def _post_card(
        self, card: SupportCard, ticket: Ticket, text: str, buttons: Rows, photo: bytes | None
    ) -> Exception | None:
        """Open the card's topic (kept even if the card then fails) and post it; return what went wrong."""
        try:
            if self.support.topics and card.thread_id is None:
                name = self.renderer.topic_name(ticket)
                card.thread_id = await self.messenger.create_topic(self.chat_id, name)
            card.thread_id, card.message_id, card.with_photo = await self._post(
                ticket, text, buttons, thread_id=card.thread_id, photo=photo
            )
        except Exception as error:  # the outbox retries the card; what was created stays recorded
            return error
        card.shown_status = ticket.status
        return None

    async def _post(
        self, ticket: Ticket, text: str, buttons: Rows, *, thread_id: int | None, photo: bytes | None = None
    ) -> tuple[int | None, int, bool]:
        chat = self.chat_id
        photo = photo or await self._photo_of(ticket)
        if self.support.topics and thread_id is None:
            thread_id = await self.messenger.create_topic(chat, self.renderer.topic_name(ticket))
        try:
            message_id = await self.messenger.send_card(
                chat, thread_id=thread_id, photo=photo, text=text, buttons=buttons
            )
        except ThreadGone:
            thread_id = await self.messenger.create_topic(chat, self.renderer.topic_name(ticket))
            message_id = await self.messenger.send_card(
                chat, thread_id=thread_id, photo=photo, text=text, buttons=buttons
            )
        return thread_id, message_id, photo is not None

    async def _photo_of(self, ticket: Ticket) -> bytes | None:
        """The screenshot to post with the card; None without one, or when the evidence is not an image."""
        if not ticket.evidence_sha256:
            return None
        async with self.db.transaction() as session:
            mime_type = await evidence_mime_type(session, ticket)
        if mime_type is not None and not mime_type.startswith("image/"):
            return None
        return await self.evidence.load(ticket.evidence_sha256)

    async def place_of(self, ticket_id: int) -> tuple[int | None, int | None]:
        """Where a message about a ticket goes: its topic, or as a reply to its card."""
        async with self.db.transaction() as session:
            card = await card_of(session, ticket_id=ticket_id)
        if card is None:
            return None, None
        if self.support.topics and card.thread_id is not None:
            return card.thread_id, None
        return None, card.message_id

    async def topic_lost(self, ticket_id: int) -> None:
        """The ticket's topic was deleted: the sync re-creates it and re-posts the card."""
        async with self.db.transaction() as session:
            card = await card_of(session, ticket_id=ticket_id, lock=True)
            if card is not None:
                card.shown_status = None
                session.add(card)

    async def sync(self, limit: int = 20) -> int:
        """Edit cards whose ticket changed status (and rename their topics); recreate what was deleted."""
        now = self.clock()
        async with self.db.transaction() as session:
            stale = await cards_out_of_date(session, limit=limit)
            work = [
                (
                    card.model_copy(),
                    ticket.model_copy(),
                    await self.renderer.text(session, ticket, card, now),
                    await self.renderer.card_buttons(session, ticket),
                )
                for card, ticket in stale
            ]
        for card, ticket, text, buttons in work:
            try:
                await self._refresh(card, ticket, text, buttons)
            except Exception:
                log.exception("could not refresh the card of %s", ticket.reference)
                continue
            async with self.db.transaction() as session:
                stored = await card_of(session, ticket_id=id_of(ticket), lock=True)
                assert stored is not None  # cards are never deleted
                stored.thread_id, stored.message_id, stored.with_photo = (
                    card.thread_id,
                    card.message_id,
                    card.with_photo,
                )
                stored.shown_status = ticket.status
                session.add(stored)
        return len(work)

    async def _refresh(self, card: SupportCard, ticket: Ticket, text: str, buttons: Rows) -> None:
        chat = self.chat_id
        if self.support.topics and card.thread_id is not None:
            try:
                await self.messenger.rename_topic(chat, card.thread_id, self.renderer.topic_name(ticket))
            except ThreadGone:
                card.thread_id, card.message_id, card.with_photo = await self._post(
                    ticket, text, buttons, thread_id=None
                )
                return
        assert card.message_id is not None  # a card row is written once its message is posted
        try:
            await self.messenger.edit_card(
                chat, card.message_id, with_photo=card.with_photo, text=text, buttons=buttons
            )
        except (MessageGone, ThreadGone):
            card.thread_id, card.message_id, card.with_photo = await self._post(
                ticket, text, buttons, thread_id=card.thread_id
            )
