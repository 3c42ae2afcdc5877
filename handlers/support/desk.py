"""The support group: agents decide tickets with buttons, ask payers questions, and read the queue."""

import contextlib
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import CandidateButton, DeskAction, DeskButton, DraftButton
from handlers.events import Button, Document, Event, EventKind, Output, Photo, Reply, Toast
from handlers.money import Money
from handlers.ports import ChartDrawer, Clock
from handlers.refunds.refunding import (
    ChargeAlreadyRefunded,
    ChargeChanged,
    NoDuplicateCharge,
    OriginalRefunded,
    RefundCall,
    RefundExists,
    RefundPolicy,
    request_refund,
    resend_refund_details,
)
from handlers.refunds.requests import Answer, Sent, send_refund_requests
from handlers.support.cards import (
    ACTION_STATUSES,
    ACTIONABLE,
    WAITING_FOR_A_PERSON,
    CardRenderer,
    SupportSettings,
)
from handlers.support.picking import press_candidate_button
from handlers.support.prompts import press_draft_button, start_prompt, take_agent_message
from handlers.support.reports import build_stats, chart_labels, export_csv, queue_entry, stats_text
from handlers.texts import format_moment, format_money
from storage.database import Database
from storage.models import Refund, RefundStatus, SupportCard, Ticket, id_of
from storage.outbox import TRANSACTIONAL, enqueue
from storage.refunds import refund_of_ticket
from storage.support_cards import card_of, cards_past_sla
from storage.support_queries import tickets_needing_a_person
from storage.tickets import audit_of, ticket_by_id, ticket_by_reference
from storage.updates import claim_update

log = logging.getLogger(__name__)
REFERENCE = re.compile(r"RF-[A-Z0-9]{8}")
DEFAULT_DAYS, MAX_DAYS = 30, 366


@dataclass
class DeskTurn:
    """One event in the support group."""

    event: Event
    session: AsyncSession
    now: datetime
    outputs: list[Output] = field(default_factory=list)
    refund_calls: list[RefundCall] = field(default_factory=list)

    @property
    def agent(self) -> str:
        return self.event.person.first_name or str(self.event.person.id)


@dataclass
class SupportDesk:
    """Answers the support group; each action is checked against the presser's role and the ticket's state."""

    db: Database
    renderer: CardRenderer
    policy: RefundPolicy
    clock: Clock
    charts: ChartDrawer

    @property
    def support(self) -> SupportSettings:
        return self.renderer.support

    def t(self, key: str, **params: object) -> str:
        return self.renderer.t(key, **params)

    async def handle(self, event: Event) -> list[Output]:
        """Handle one update from the support group exactly once."""
        if self.support.chat_id is None or event.chat_id != self.support.chat_id:
            return []
        try:
            async with self.db.transaction() as session:
                now = self.clock()
                if not await claim_update(session, update_id=event.update_id, now=now):
                    return []
                turn = DeskTurn(event, session, now)
                await self._route(turn)
            sent = await send_refund_requests(self.db, self.policy, self.clock, turn.refund_calls)
            turn.outputs.extend(self._approval_reply(turn, s) for s in sent)
            return turn.outputs
        except Exception:
            log.exception("support update %s failed; nothing was saved", event.update_id)
            return [Reply(self.t("error.internal"))]

    async def _route(self, turn: DeskTurn) -> None:
        event, is_agent = turn.event, turn.event.person.id in self.support.agent_ids
        if event.kind is EventKind.BUTTON:
            if not is_agent:
                turn.outputs.append(Toast(self.t("desk.not_allowed")))
                return
            draft_button = DraftButton.parse(event.button_data)
            if draft_button is not None:
                await press_draft_button(self, turn, draft_button)
                return
            candidate_button = CandidateButton.parse(event.button_data)
            if candidate_button is not None:
                await press_candidate_button(self, turn, candidate_button)
                return
            await self._press(turn)
        elif event.kind is EventKind.COMMAND and event.command in COMMANDS:
            if not is_agent:
                turn.outputs.append(Reply(self.t("desk.not_allowed")))
                return
            await COMMANDS[event.command](self, turn)
        elif event.kind in (EventKind.TEXT, EventKind.PHOTO) and is_agent:
            await self._agent_message(turn)

    # --- buttons on cards ---------------------------------------------------------------------

    async def _press(self, turn: DeskTurn) -> None:
        button = DeskButton.parse(turn.event.button_data)
        ticket = None if button is None else await ticket_by_reference(
            turn.session, reference=button.reference, lock=True
        )
        if button is None or ticket is None:
            turn.outputs.append(Toast(self.t("button.stale")))
            return
        action = button.action.value
        actions = {
            DeskAction.APPROVE: self._approve,
            DeskAction.RETRY: self._approve,
            DeskAction.DETAILS: self._send_details,
            DeskAction.REJECT: self._prompt,
            DeskAction.ASK: self._prompt,
            DeskAction.ASSIGN: self._assign,
            DeskAction.OUTSIDE: self._outside,
        }
        card = await card_of(turn.session, ticket_id=id_of(ticket), lock=True)
        if ticket.status not in ACTION_STATUSES.get(action, ACTIONABLE):
            who = card.last_actor_name if card and card.last_actor_name else "?"
            turn.outputs.append(
                Toast(self.t("desk.too_late", status=self.t(f"status.{ticket.status}"), name=who))
            )
            return
        await actions[button.action](turn, ticket, card, action)
        if card is not None:
            card.touched_at, card.sla_pings = turn.now, 0
            turn.session.add(card)

    async def _approve(self, turn: DeskTurn, ticket: Ticket, card: SupportCard | None, action: str) -> None:
        """Approve (or retry a failed refund): record the request; the provider is called after commit."""
        await self.request(turn, ticket, card, "desk.retry" if action == "retry" else "desk.approve")

    async def request(
        self,
        turn: DeskTurn,
        ticket: Ticket,
        card: SupportCard | None,
        action_key: str,
        *,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Record the (locked) ticket's refund request after `before` (undone if refused), or say why not."""
        reference = ticket.reference  # a refused request inside `scope` may leave the ticket expired
        scope = turn.session.begin_nested() if before is not None else contextlib.nullcontext()
        try:
            async with scope:
                if before is not None:
                    await before()
                call = await request_refund(
                    turn.session, self.policy, ticket, actor=f"agent:{turn.event.person.id}", now=turn.now
                )
        except RefundExists as exists:
            turn.outputs.append(await self._existing_refund(turn, ticket, exists.refund))
            return False
        except ChargeAlreadyRefunded as taken:
            other = await self._other_ticket(turn, taken.refund)
            turn.outputs.append(Reply(self.t("desk.charge_taken", reference=reference, other=other)))
            return False
        except OriginalRefunded:
            turn.outputs.append(Reply(self.t("desk.original_refunded", reference=reference)))
            return False
        except ChargeChanged:
            turn.outputs.append(Reply(self.t("desk.charge_changed", reference=reference)))
            return False
        except NoDuplicateCharge:
            turn.outputs.append(Reply(self.t("desk.no_duplicate", reference=reference)))
            return False
        self._acted(card, turn, action_key)
        turn.refund_calls.append(call)
        return True

    def _approval_reply(self, turn: DeskTurn, sent: Sent) -> Reply:
        """What the provider answered, in words; an unknown outcome is said to be unknown."""
        refund = sent.refund
        reference = refund.reference if refund else "?"
        params = {"reference": reference, "name": turn.agent}
        if sent.answer is Answer.FAILED:
            assert refund is not None  # only an unknown answer comes without its refund
            reason = refund.failure_reason or self.t("refund_failure.unknown")
            return Reply(self.t("desk.approved_failed", reason=reason, **params))
        key = {Answer.PENDING: "desk.approved", Answer.SUCCEEDED: "desk.approved_landed"}.get(
            sent.answer, "desk.approved_unknown"
        )
        return Reply(self.t(key, **params))

    async def _existing_refund(self, turn: DeskTurn, ticket: Ticket, refund: Refund) -> Reply:
        """Approve on a ticket that has a refund: say what exists and what can still be done."""
        money = Money.from_minor(refund.amount_minor, refund.currency)
        params = {
            "reference": ticket.reference,
            "amount": format_money(money.amount, money.currency, self.support.locale),
            "since": format_moment(
                refund.landed_at or refund.created_at, self.support.zone, self.support.locale
            ),
            "bank_reference": refund.bank_reference or "—",
        }
        if refund.status != RefundStatus.SUCCEEDED:
            return Reply(self.t(f"desk.refund_exists_{refund.status}", **params))
        def data(action: DeskAction) -> str:
            return DeskButton(ticket.reference, action).pack()

        buttons = (
            (Button(self.t("desk.send_details"), data(DeskAction.DETAILS)),),
            (
                Button(self.t("desk.ask"), data(DeskAction.ASK)),
                Button(self.t("desk.reject"), data(DeskAction.REJECT)),
            ),
        )
        return Reply(self.t("desk.refund_exists_succeeded", **params), buttons)

    async def _other_ticket(self, turn: DeskTurn, refund: Refund | None) -> str:
        if refund is None:
            return "?"
        other = await ticket_by_id(turn.session, ticket_id=refund.ticket_id)
        return other.reference if other else "?"

    async def _send_details(
        self, turn: DeskTurn, ticket: Ticket, card: SupportCard | None, _action: str
    ) -> None:
        """The refund had landed: send the payer its date and bank reference again, and close the ticket."""
        refund = await refund_of_ticket(turn.session, ticket_id=id_of(ticket))
        if refund is None or refund.status != RefundStatus.SUCCEEDED:
            turn.outputs.append(Toast(self.t("button.stale")))
            return
        await resend_refund_details(
            turn.session, self.policy, ticket, refund, actor=f"agent:{turn.event.person.id}", now=turn.now,
            dedupe=f"details:{turn.event.update_id}",
        )
        self._acted(card, turn, "desk.send_details")
        turn.outputs.append(Reply(self.t("desk.details_sent", reference=ticket.reference, name=turn.agent)))

    async def _prompt(self, turn: DeskTurn, ticket: Ticket, card: SupportCard | None, action: str) -> None:
        await start_prompt(self, turn, ticket, action)

    async def _outside(self, turn: DeskTurn, ticket: Ticket, card: SupportCard | None, action: str) -> None:
        """Refunded outside the bot: unless a refund exists, the next message is the amount and a note."""
        refund = await refund_of_ticket(turn.session, ticket_id=id_of(ticket))
        if refund is not None and refund.status != RefundStatus.FAILED:
            turn.outputs.append(await self._existing_refund(turn, ticket, refund))
            return
        await start_prompt(self, turn, ticket, action)

    async def _assign(self, turn: DeskTurn, ticket: Ticket, card: SupportCard | None, _action: str) -> None:
        if card is None:
            turn.outputs.append(Toast(self.t("button.stale")))
            return
        if card.assigned_to not in (None, turn.event.person.id):
            turn.outputs.append(Toast(self.t("desk.already_assigned", name=card.assigned_name)))
            return
        card.assigned_to, card.assigned_name, card.shown_status = turn.event.person.id, turn.agent, None
        turn.outputs.append(Toast(self.t("desk.assigned_to_you")))

    def _acted(self, card: SupportCard | None, turn: DeskTurn, action_key: str) -> None:
        if card is not None:
            card.last_actor_name = f"{turn.agent} ({self.t(action_key)})"
            card.shown_status = None

    # --- the agent's next message after Reject or Ask (see handlers/support/prompts.py) ---------

    async def _agent_message(self, turn: DeskTurn) -> None:
        await take_agent_message(self, turn)

    # --- commands -------------------------------------------------------------------------------

    async def queue(self, turn: DeskTurn) -> None:
        """/queue: open tickets needing a person, oldest first, with age and SLA state."""
        tickets = await tickets_needing_a_person(turn.session)
        if not tickets:
            turn.outputs.append(Reply(self.t("desk.queue_empty")))
            return
        lines = [self.t("desk.queue_header")]
        for ticket in tickets[:50]:
            reference, age, sla = queue_entry(ticket, now=turn.now, sla=self.support.sla)
            lines.append(
                self.t(
                    "desk.queue_line",
                    reference=reference,
                    status=self.t(f"status.{ticket.status}"),
                    age=age,
                    sla=sla,
                )
            )
        turn.outputs.append(Reply("\n".join(lines)[:4096]))

    async def ticket(self, turn: DeskTurn) -> None:
        """/ticket RF-…: the card again, with its audit trail."""
        match = REFERENCE.search(turn.event.args.upper())
        if not match:
            turn.outputs.append(Reply(self.t("desk.ticket_usage")))
            return
        ticket = await ticket_by_reference(turn.session, reference=match[0])
        if ticket is None:
            turn.outputs.append(Reply(self.t("desk.unknown_ticket", reference=match[0])))
            return
        card = await card_of(turn.session, ticket_id=id_of(ticket))
        lines = [
            await self.renderer.text(turn.session, ticket, card, turn.now),
            "",
            self.t("desk.audit_header"),
        ]
        for row in await audit_of(turn.session, ticket_id=id_of(ticket)):
            lines.append(
                self.t(
                    "desk.audit_line",
                    at=format_moment(row.at, self.support.zone, self.support.locale),
                    actor=row.actor,
                    from_status=row.from_status or "—",
                    to_status=row.to_status,
                    note=f"({row.note})" if row.note else "",
                )
            )
        buttons = await self.renderer.card_buttons(turn.session, ticket)
        turn.outputs.append(Reply("\n".join(lines)[:4096], buttons))

    async def stats(self, turn: DeskTurn) -> None:
        """/stats [days]: the figures, as a chart image with a short caption."""
        days = _days(turn.event.args)
        report = await build_stats(turn.session, days=days, now=turn.now, zone=self.support.zone)
        chart = self.charts.draw(report.per_day, chart_labels(report, self.t))
        turn.outputs.append(Photo(chart, stats_text(report, self.t)[:1024]))

    async def export(self, turn: DeskTurn) -> None:
        """/export [days]: tickets and their audit trail as CSV."""
        days = _days(turn.event.args)
        data = await export_csv(turn.session, days=days, now=turn.now, zone=self.support.zone)
        name = f"refund-tickets-{turn.now:%Y%m%d}-{days}d.csv"
        turn.outputs.append(Document(data, name, self.t("desk.export_caption", days=days)))

    # --- SLA ------------------------------------------------------------------------------------

    async def sweep_sla(self) -> int:
        """Ping tickets untouched for the SLA once, then at twice the SLA with a mention of every agent."""
        chat_id, allowed = self.support.chat_id, self.support.sla
        if chat_id is None or allowed is None:  # no group, or SUPPORT_SLA=off: no pings
            return 0
        async with self.db.transaction() as session:
            now = self.clock()
            late = await cards_past_sla(
                session, now=now, sla=allowed, statuses=WAITING_FOR_A_PERSON, limit=100
            )
            for card, ticket in late:
                card.sla_pings += 1
                age = _age_text(now - card.touched_at)
                sla = _age_text(allowed)
                if card.sla_pings == 1:
                    text, mode = self.t("desk.sla_ping", reference=ticket.reference, age=age, sla=sla), None
                else:
                    mentions = " ".join(
                        f'<a href="tg://user?id={agent}">agent {agent}</a>'
                        for agent in sorted(self.support.agent_ids)
                    )
                    text = self.t(
                        "desk.sla_ping_all",
                        reference=html.escape(ticket.reference),
                        age=age,
                        mentions=mentions,
                    )
                    mode = "HTML"
                await enqueue(
                    session,
                    dedupe_key=f"sla:{ticket.id}:{card.sla_pings}:{card.touched_at.isoformat()}",
                    chat_id=chat_id,
                    text=text,
                    priority=TRANSACTIONAL,
                    not_before=now,
                    ticket_id=ticket.id,
                    parse_mode=mode,
                )
                session.add(card)
            return len(late)


COMMANDS = {
    "queue": SupportDesk.queue,
    "ticket": SupportDesk.ticket,
    "stats": SupportDesk.stats,
    "export": SupportDesk.export,
}


def _days(args: str) -> int:
    head = args.strip().split(" ", 1)[0]
    return min(max(int(head), 1), MAX_DAYS) if head.isdigit() else DEFAULT_DAYS


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m"
