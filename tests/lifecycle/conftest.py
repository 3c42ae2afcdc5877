"""A ticket ready for a refund, and the policy that follows it (real database, ledger provider)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.providers.ledger import LedgerProvider
from handlers.delivery.notices import Notifier
from handlers.durations import Eta, QuietHours, parse_intervals
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.texts import Texts
from storage.models import Ticket, User
from storage.tickets import add_ticket

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPPORT_CHAT = -100777


def make_policy(provider=None) -> RefundPolicy:
    schedule = UpdateSchedule(parse_intervals("1d,2d"), QuietHours.parse("22:00-08:00"), SHANGHAI,
                              timedelta(days=2))
    return RefundPolicy(provider or LedgerProvider(), schedule, Eta.parse("3bd"),
                        Notifier(Texts.load(), SUPPORT_CHAT, "en"))


async def file_ticket(db, *, user_id: int = 7, reference: str = "RF-TEST2345", status: str = "verified",
                      locale: str = "en") -> int:
    async with db.transaction() as session:
        if await session.get(User, user_id) is None:
            session.add(User(id=user_id, first_name="Ann", locale=locale, created_at=NOW))
        ticket = Ticket(reference=reference, user_id=user_id, chat_id=user_id, locale=locale, order_id="A1",
                        amount_minor=9900, currency="CNY", paid_at=NOW - timedelta(hours=3), status=status,
                        report_key=reference, open_order_key=f"{user_id}:{reference}", created_at=NOW,
                        updated_at=NOW)
        await add_ticket(session, ticket=ticket, matches=[("tx1", "original"), ("tx2", "duplicate")],
                         actor=f"payer:{user_id}", now=NOW)
        return ticket.id


@pytest.fixture
def policy() -> RefundPolicy:
    return make_policy()
