"""A small world for money-safety tests: both desks on a real database, a merchant that really refunds."""

import asyncio
import io
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlmodel import select

from bot.charts import PillowChartDrawer
from handlers.delivery.notices import Notifier
from handlers.durations import Eta, QuietHours, parse_intervals
from handlers.events import Attachment, Button, Event, EventKind, Output, Person, Reply, Toast
from handlers.money import Money
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.ports import ProviderError, RefundRequest, RefundState
from handlers.refunds.refunding import RefundPolicy, request_refund
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.support.cards import CardRenderer, SupportSettings
from handlers.support.desk import SupportDesk
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import OutboxMessage, Refund, RefundStatus, Ticket
from storage.payer_links import link_payers
from storage.tickets import ticket_by_id
from storage.transactions import save_transactions
from tests.doubles import Clock

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPPORT_CHAT = -100777
AGENT = 501
TEXTS = Texts.load()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class Screenshots:
    """The FileDownloader port: every file is the same small PNG."""

    async def download(self, file_id: str) -> bytes:
        return png()


@dataclass
class Merchant:
    """A payment provider that really refunds once per idempotency key, and can be told to misbehave.

    Each scripted answer is one of: pending, succeeded, failed, timeout (nothing happened),
    lost (the refund was made but the answer never came back).
    """

    name: str = "webhook"
    script: deque = field(default_factory=deque)
    keys: list[str] = field(default_factory=list)
    refunded: Counter = field(default_factory=Counter)  # transaction id → refunds actually paid out
    answers: dict[str, RefundState] = field(default_factory=dict)
    gate: asyncio.Event | None = None

    async def create_refund(self, request: RefundRequest, *, now: datetime) -> RefundState:
        self.keys.append(request.reference)
        if self.gate is not None:
            await self.gate.wait()
        if request.reference in self.answers:
            return self.answers[request.reference]
        action = self.script.popleft() if self.script else "pending"
        if action == "timeout":
            raise ProviderError(f"webhook refund {request.reference}: no answer within 10 s")
        self.refunded[request.transaction_id] += 1
        state = {
            "succeeded": RefundState(RefundStatus.SUCCEEDED, bank_reference="BR-1"),
            "failed": RefundState(RefundStatus.FAILED, "card closed"),
        }.get(action, RefundState(RefundStatus.PENDING))
        if action == "failed":
            self.refunded[request.transaction_id] -= 1
        self.answers[request.reference] = state
        if action == "lost":
            raise ProviderError(f"webhook refund {request.reference}: no answer within 10 s")
        return state

    async def refund_status(self, refund: Refund, *, now: datetime) -> RefundState:
        return RefundState(RefundStatus(refund.status), refund.failure_reason, refund.bank_reference)


_update_ids = itertools.count(1)
PAID_TWICE = (("tx1", "A1", "", "succeeded"), ("tx2", "A1", "", "succeeded"))  # order A1, no payer named


def outputs_text(outputs: list[Output]) -> str:
    """Everything said back: messages and button toasts."""
    return "\n".join(o.text for o in outputs if isinstance(o, Reply | Toast))


def button(outputs: list[Output], suffix: str) -> Button:
    for output in outputs:
        if isinstance(output, Reply):
            for row in output.buttons:
                for candidate in row:
                    if candidate.data.endswith(suffix):
                        return candidate
    raise AssertionError(f"no button ending in {suffix!r} in {outputs!r}")


@dataclass
class World:
    """Payers and an agent talking to the real desks; the merchant's records and provider."""

    db: object
    clock: Clock
    merchant: Merchant
    payers: PayerDesk
    support: SupportDesk

    def _event(self, user_id: int, kind: EventKind, chat_id: int | None = None, **fields) -> Event:
        return Event(
            update_id=next(_update_ids),
            person=Person(user_id, f"user{user_id}", None, "en"),
            chat_id=user_id if chat_id is None else chat_id,
            kind=kind,
            **fields,
        )

    async def say(self, user_id: int, text: str) -> list[Output]:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return await self.payers.handle(
                self._event(user_id, EventKind.COMMAND, text=text, command=name, args=args)
            )
        return await self.payers.handle(self._event(user_id, EventKind.TEXT, text=text))

    async def press(self, user_id: int, data: str) -> list[Output]:
        return await self.payers.handle(
            self._event(user_id, EventKind.BUTTON, button_data=data, message_id=1)
        )

    async def fill_report(
        self, user_id: int, order: str = "A1", amount: str = "99.00", paid_at: str = "2026-11-26 09:30"
    ) -> str:
        """Walk a payer to the review; return the Submit button's data."""
        await self.say(user_id, "/report")
        await self.say(user_id, order)
        await self.say(user_id, amount)
        await self.say(user_id, paid_at)
        review = await self.payers.handle(
            self._event(user_id, EventKind.PHOTO, attachment=Attachment("photo-1", 2000))
        )
        return button(review, ":submit").data

    async def report(self, user_id: int, **fields) -> list[Output]:
        """A whole report, submitted."""
        return await self.press(user_id, await self.fill_report(user_id, **fields))

    async def agent_presses(self, data: str, agent: int = AGENT) -> list[Output]:
        return await self.support.handle(
            self._event(agent, EventKind.BUTTON, chat_id=SUPPORT_CHAT, button_data=data, message_id=1)
        )

    async def records(
        self, *charges: tuple[str, str, str, str], telegram: dict[str, int] | None = None
    ) -> None:
        """The merchant's charges: (transaction id, order, payer id, status), all CNY 99.00."""
        rows = [
            {
                "transaction_id": tx,
                "order_id": order,
                "payer_id": payer,
                "amount_minor": 9900,
                "currency": "CNY",
                "status": status,
                "created_at": NOW - timedelta(hours=1, minutes=-i),
                "method": None,
            }
            for i, (tx, order, payer, status) in enumerate(charges)
        ]
        async with self.db.transaction() as session:
            await save_transactions(session, rows=rows)
            await link_payers(session, links=list((telegram or {}).items()), source="records", now=NOW)

    async def reported_duplicate(self, user_id: int) -> Ticket:
        """Order A1 charged twice (no payer named), reported by `user_id`: the one ticket filed."""
        await self.records(*PAID_TWICE)
        await self.report(user_id)
        [ticket] = await self.tickets()
        return ticket

    async def record_request_unsent(self, ticket: Ticket) -> None:
        """Approve and record the refund request, as a sender that dies before calling the provider."""
        async with self.db.transaction() as session:
            locked = await ticket_by_id(session, ticket_id=ticket.id, lock=True)
            assert locked is not None
            await request_refund(session, self.payers.policy, locked, actor="agent:501", now=NOW)

    async def tickets(self) -> list[Ticket]:
        async with self.db.transaction() as session:
            return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())

    async def refunds(self) -> list[Refund]:
        async with self.db.transaction() as session:
            return list((await session.exec(select(Refund).order_by(Refund.id))).all())

    async def outbox(self, chat_id: int) -> list[OutboxMessage]:
        async with self.db.transaction() as session:
            query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
            return list((await session.exec(query)).all())


def make_policy(merchant: Merchant, auto_limit: str | None = "500") -> RefundPolicy:
    schedule = UpdateSchedule(
        parse_intervals("1d,2d"), QuietHours.parse("22:00-08:00"), SHANGHAI, timedelta(days=2)
    )
    return RefundPolicy(
        provider=merchant,
        schedule=schedule,
        eta=Eta.parse("3bd"),
        notifier=Notifier(TEXTS, SUPPORT_CHAT, "en"),
        auto_refund_limit=Money(Decimal(auto_limit), "CNY") if auto_limit else None,
    )


def make_world(db, tmp_path, *, auto_limit: str | None = "500") -> World:
    clock = Clock(NOW)
    merchant = Merchant()
    policy = make_policy(merchant, auto_limit)
    rules = IntakeRules(default_currency="CNY", zone=SHANGHAI, max_open_tickets=50, max_reports_per_day=50)
    payers = PayerDesk(
        db, TEXTS, rules, EvidenceFiles(tmp_path / "evidence"), Screenshots(), clock, "en", policy
    )
    support = SupportDesk(
        db,
        CardRenderer(TEXTS, SupportSettings(SUPPORT_CHAT, frozenset({AGENT}), "en", SHANGHAI)),
        policy,
        clock,
        PillowChartDrawer(),
    )
    return World(db, clock, merchant, payers, support)


@pytest.fixture
def world(db, tmp_path) -> World:
    """Auto-approval up to ¥500, on SQLite and on PostgreSQL."""
    return make_world(db, tmp_path)


@pytest.fixture
def manual_world(db, tmp_path) -> World:
    """Every ticket goes to a person."""
    return make_world(db, tmp_path, auto_limit=None)
