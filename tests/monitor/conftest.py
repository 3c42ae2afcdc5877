"""The money world of tests/money, plus charges arriving as the live feed or an import delivers them."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from handlers.monitor.arrivals import ChargeWatch, Source, charges_arrived
from handlers.refunds.requests import send_refund_requests
from storage.models import OutboxMessage, SuspectedDuplicate, Ticket, Transaction
from storage.payer_links import link_payers
from storage.transactions import save_transactions
from tests.money.conftest import NOW, TEXTS, World, make_world

PAYER, USER, ADMIN = "openid-7", 42, 900


def charge(tx: str, order: str, *, payer: str = PAYER, minutes: float = 0, amount: int = 9900,
           status: str = "succeeded", at: datetime | None = None) -> dict:
    """A charge of the merchant's records, `minutes` after an hour ago."""
    return {
        "transaction_id": tx, "order_id": order, "payer_id": payer, "amount_minor": amount,
        "currency": "CNY", "status": status, "method": None,
        "created_at": at or NOW - timedelta(hours=1) + timedelta(minutes=minutes),
    }


class Feed:
    """Charges arriving at the bot, as `POST /api/payments` or `import-transactions` hands them over."""

    def __init__(self, world: World, watch: ChargeWatch):
        self.world, self.watch = world, watch

    async def arrive(self, *rows: dict, source: Source = Source.FEED) -> None:
        world = self.world
        async with world.db.transaction() as session:
            await save_transactions(session, rows=list(rows))
            charges = [Transaction.model_construct(**row) for row in rows]
            calls = await charges_arrived(session, self.watch, charges, now=world.clock(), source=source)
        await send_refund_requests(world.db, world.payers.policy, world.clock, calls)

    async def link(self, payer: str = PAYER, user: int = USER) -> None:
        async with self.world.db.transaction() as session:
            await link_payers(session, links=[(payer, user)], source="deep_link", now=NOW)

    async def suspicions(self) -> list[SuspectedDuplicate]:
        async with self.world.db.transaction() as session:
            query = select(SuspectedDuplicate).order_by(SuspectedDuplicate.id)
            return list((await session.exec(query)).all())

    async def alerts(self, user_id: int) -> list[OutboxMessage]:
        """The monitor's questions to a payer."""
        return [m for m in await self.messages(user_id) if m.dedupe_key.startswith("repeat:")]

    async def tickets(self) -> list[Ticket]:
        return await self.world.tickets()

    async def messages(self, chat_id: int) -> list[OutboxMessage]:
        async with self.world.db.transaction() as session:
            query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
            return list((await session.exec(query)).all())


def buttons_of(message: OutboxMessage) -> dict[str, str]:
    """An outbox message's buttons, label → data."""
    return {b["label"]: b["data"] for row in json.loads(message.buttons or "[]") for b in row}


def make_feed(world: World, **settings) -> Feed:
    watch = ChargeWatch(world.payers.policy, TEXTS, "en", merchant_admin_ids=(ADMIN,),
                        alert_rate=Decimal("0.05"), alert_min_charges=20, **settings)
    return Feed(world, watch)


@pytest.fixture
def feed(db, tmp_path) -> Feed:
    """Auto-approval up to ¥500; a merchant admin; the monitor on."""
    return make_feed(make_world(db, tmp_path))


@pytest.fixture
def manual_feed(db, tmp_path) -> Feed:
    """Every ticket goes to a person."""
    return make_feed(make_world(db, tmp_path, auto_limit=None))
