"""A 403 from the support group never drops its cards: they wait, retried with capped backoff, one alert."""

import itertools
import logging
from datetime import UTC, datetime

from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.ports import RecipientUnreachable
from storage.models import User
from storage.outbox import count_by_status, enqueue, messages_to, next_due_time
from tests.doubles import Clock

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SUPPORT_CHAT = -1001234567890
PAYER = 301


class Telegram:
    """The Messenger port: chats in `refusing` answer 403 (removed from the group, blocked by the user)."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.refusing: set[int] = set()
        self.tries: list[tuple[int, datetime]] = []
        self.delivered: list[tuple[int, str]] = []

    async def send(self, chat_id, text, buttons, *, thread_id=None, reply_to=None, parse_mode=None) -> None:
        self.tries.append((chat_id, self.clock()))
        if chat_id in self.refusing:
            raise RecipientUnreachable("Forbidden: bot was kicked from the supergroup chat")
        self.delivered.append((chat_id, text))

    def tries_at(self, chat_id: int) -> list[datetime]:
        return [at for chat, at in self.tries if chat == chat_id]


def make_worker(db, telegram: Telegram, clock: Clock) -> DeliveryWorker:
    policy = DeliveryPolicy(rate_per_second=1000, per_chat_interval=0, max_attempts=3)
    return DeliveryWorker(db, telegram, clock, policy)


async def seed(db) -> None:
    async with db.transaction() as session:
        session.add(User(id=PAYER, first_name="Ann", locale="en", created_at=NOW))
        for n in range(3):
            await enqueue(session, dedupe_key=f"card{n}", chat_id=SUPPORT_CHAT, text=f"card {n}",
                          not_before=NOW)
        await enqueue(session, dedupe_key="update", chat_id=PAYER, text="your refund", not_before=NOW)


async def drain_when_due(db, worker: DeliveryWorker, clock: Clock, times: int) -> None:
    """Move the clock to the next due message and drain, `times` times."""
    for _ in range(times):
        async with db.transaction() as session:
            due = await next_due_time(session)
        clock.now = max(clock.now, due or clock.now)
        await worker.drain()


async def test_cards_wait_with_capped_backoff_while_the_group_refuses_and_then_all_go_out(db, caplog):
    await seed(db)
    clock = Clock(NOW)
    telegram = Telegram(clock)
    telegram.refusing = {SUPPORT_CHAT, PAYER}
    worker = make_worker(db, telegram, clock)
    with caplog.at_level(logging.WARNING, logger="handlers.delivery.worker"):
        await drain_when_due(db, worker, clock, times=14)
    # far past max_attempts=3, and nothing of the group's was dropped or failed
    async with db.transaction() as session:
        cards = await messages_to(session, chat_id=SUPPORT_CHAT)
        [update] = await messages_to(session, chat_id=PAYER)
        group_user = await session.get(User, SUPPORT_CHAT)
        payer = await session.get(User, PAYER)
    assert {card.status for card in cards} == {"pending"}
    assert all("may not post" in card.last_error for card in cards if card.attempts)
    assert group_user is None and payer.unreachable is True and update.status == "dropped"
    # one try per backoff for the whole group (not one per card), doubling up to ten minutes apart
    tries = telegram.tries_at(SUPPORT_CHAT)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(tries)]
    assert gaps == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600, 600]
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(alerts) == 1 and str(SUPPORT_CHAT) in alerts[0].getMessage()

    # the bot is added back: every card goes out, once, in order
    telegram.refusing.clear()
    await drain_when_due(db, worker, clock, times=1)
    assert telegram.delivered == [(SUPPORT_CHAT, f"card {n}") for n in range(3)]
    async with db.transaction() as session:
        assert await count_by_status(session) == {"sent": 3, "dropped": 1}


async def test_each_streak_of_refusals_raises_one_alert(db, caplog):
    clock = Clock(NOW)
    telegram = Telegram(clock)
    worker = make_worker(db, telegram, clock)
    with caplog.at_level(logging.ERROR, logger="handlers.delivery.worker"):
        for streak in range(2):
            async with db.transaction() as session:
                for n in range(2):
                    await enqueue(session, dedupe_key=f"s{streak}-{n}", chat_id=SUPPORT_CHAT, text="card",
                                  not_before=clock.now)
            telegram.refusing = {SUPPORT_CHAT}
            await drain_when_due(db, worker, clock, times=3)
            telegram.refusing.clear()
            await drain_when_due(db, worker, clock, times=1)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2
    async with db.transaction() as session:
        assert await count_by_status(session) == {"sent": 4}
