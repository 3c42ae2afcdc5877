"""Delivering broadcasts at desk level: one row per subscriber, progress, report, the weekly tip."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import ConfigError, load_settings
from handlers.buttons import TipsButton, TipsChoice
from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.merchant.delivery import WEEKLY_GUARD, BroadcastStarter, expand_broadcast
from handlers.merchant.progress import BroadcastProgress
from handlers.merchant.tips import TIP_COUNT
from handlers.ports import MessageGone
from handlers.texts import Texts
from storage.broadcasts import add_broadcast, broadcast_by_id, cancel_broadcast, counts_of
from storage.models import Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus, User
from storage.outbox import BULK, TRANSACTIONAL, enqueue, messages_to
from tests.doubles import Clock

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
TEXTS = Texts.load()
MERCHANT = 900
# (user id, locale, tips, unreachable)
PAYERS = [
    (1, "en", True, False),
    (2, "zh", True, False),
    (3, "en", False, False),  # opted out
    (4, "zh", None, False),  # never answered
    (5, "en", True, True),  # blocked the bot
    (6, "zh", True, False),
]


class Telegram:
    """The Messenger port: records every send and edit; message ids count up."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.cards: dict[int, str] = {}
        self.edits: list[tuple[int, str]] = []
        self.gone: set[int] = set()

    async def send(self, chat_id, text, buttons, *, thread_id=None, reply_to=None, parse_mode=None,
                   paid_broadcast=False) -> None:
        self.sent.append({"chat_id": chat_id, "text": text, "buttons": buttons, "paid": paid_broadcast})

    async def send_card(self, chat_id, *, thread_id, photo, text, buttons) -> int:
        message_id = 100 + len(self.cards)
        self.cards[message_id] = text
        return message_id

    async def edit_card(self, chat_id, message_id, *, with_photo, text, buttons) -> None:
        if message_id in self.gone:
            raise MessageGone("message to edit not found")
        self.cards[message_id] = text
        self.edits.append((message_id, text))


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def seed(db, *, merchant_locale: str = "en") -> None:
    async with db.transaction() as session:
        session.add(User(id=MERCHANT, first_name="M", locale=merchant_locale, created_at=NOW))
        for user_id, locale, tips, unreachable in PAYERS:
            session.add(User(id=user_id, first_name=f"P{user_id}", locale=locale, tips=tips,
                             unreachable=unreachable, created_at=NOW))


async def queue(db, *, at: datetime = NOW, source: str = "chat", **fields) -> int:
    fields.setdefault("tip_number", 3)
    async with db.transaction() as session:
        broadcast = await add_broadcast(session, Broadcast(
            status=BroadcastStatus.SCHEDULED, source=source, scheduled_at=at, created_at=at,
            created_by=MERCHANT, progress_chat_id=MERCHANT, **fields,
        ))
    return broadcast.id


async def rows_of(db, broadcast_id: int) -> list[OutboxMessage]:
    async with db.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
        return sorted((await session.exec(query)).all(), key=lambda row: row.chat_id)


async def stored(db, broadcast_id: int) -> Broadcast:
    async with db.transaction() as session:
        return await broadcast_by_id(session, broadcast_id=broadcast_id)


def starter(db, clock=None) -> BroadcastStarter:
    return BroadcastStarter(db, TEXTS, clock or Clock(NOW), "en")


@pytest.mark.parametrize(
    ("audience", "reached"), [("all", [1, 2, 6]), ("en", [1]), ("zh", [2, 6])]
)
async def test_a_due_broadcast_becomes_one_row_per_subscriber_of_its_audience(db, audience, reached):
    await seed(db)
    number = await queue(db, audience=audience)
    assert await starter(db).start_due() == [number]
    rows = await rows_of(db, number)
    assert [row.chat_id for row in rows] == reached  # not the opted out, the never asked, the blocked
    for row in rows:
        locale = "zh" if row.chat_id in (2, 6) else "en"
        assert row.text == TEXTS.get(locale, "tip.3")
        assert row.dedupe_key == f"bc:{number}:{row.chat_id}"
        assert (row.priority, row.status, row.not_before) == (BULK, OutboxStatus.PENDING, NOW)
        [[button]] = json.loads(row.buttons)
        assert button == {"label": TEXTS.get(locale, "tips.stop_button"),
                          "data": TipsButton(TipsChoice.OFF).pack()}
    broadcast = await stored(db, number)
    assert (broadcast.status, broadcast.started_at, broadcast.recipients) == ("running", NOW, len(reached))


async def test_custom_texts_fall_back_to_the_other_language(db):
    await seed(db)
    number = await queue(db, tip_number=None, text_en=None, text_zh="只有中文")
    await starter(db).start_due()
    assert {row.chat_id: row.text for row in await rows_of(db, number)} == {1: "只有中文", 2: "只有中文",
                                                                             6: "只有中文"}


async def test_a_broadcast_is_expanded_once(db):
    await seed(db)
    number = await queue(db)
    assert await starter(db).start_due() == [number]
    assert await starter(db).start_due() == []  # running now: never claimed again
    async with db.transaction() as session:  # even a forced second expansion writes nothing: dedupe keys
        broadcast = await broadcast_by_id(session, broadcast_id=number, lock=True)
        assert await expand_broadcast(session, broadcast, texts=TEXTS, default_locale="en", now=NOW) == 0
    assert len(await rows_of(db, number)) == 3


async def test_a_broadcast_waits_for_its_time(db):
    await seed(db)
    clock = Clock(NOW)
    later = await queue(db, at=NOW + timedelta(hours=2))
    assert await starter(db, clock).start_due() == []
    assert await rows_of(db, later) == []
    clock.now = NOW + timedelta(hours=2)
    assert await starter(db, clock).start_due() == [later]


async def test_cancelling_a_running_broadcast_drops_its_unsent_rows(db):
    await seed(db)
    number = await queue(db)
    await starter(db).start_due()
    telegram = Telegram()
    worker = DeliveryWorker(db, telegram, Clock(NOW), DeliveryPolicy(rate_per_second=1000, batch=1))
    await worker.deliver_batch()  # one of three went out
    async with db.transaction() as session:
        broadcast = await broadcast_by_id(session, broadcast_id=number, lock=True)
        assert await cancel_broadcast(session, broadcast, now=NOW) == 2
    assert await worker.drain() == 0
    assert len(telegram.sent) == 1
    assert sorted(row.status for row in await rows_of(db, number)) == ["dropped", "dropped", "sent"]
    assert (await stored(db, number)).status == "cancelled"


async def test_progress_is_one_message_edited_in_place_then_a_report(db):
    await seed(db, merchant_locale="zh")
    number = await queue(db)
    await starter(db).start_due()
    telegram, ticks = Telegram(), Ticks()
    worker = DeliveryWorker(db, telegram, Clock(NOW), DeliveryPolicy(rate_per_second=1000, batch=1))
    progress = BroadcastProgress(db, telegram, TEXTS, Clock(NOW), "en", edit_every=3, monotonic=ticks)

    await progress.report()
    [(message_id, first)] = telegram.cards.items()
    assert "0 / 3" in first and "正在估算" in first  # the merchant's language
    assert (await stored(db, number)).progress_message_id == message_id

    await worker.deliver_batch()
    ticks.now = 1.0
    await progress.report()
    assert telegram.edits == []  # at most every few seconds
    ticks.now = 3.0
    await progress.report()
    [(edited, text)] = telegram.edits
    assert edited == message_id and "1 / 3" in text and "预计还需" in text and "6秒" in text

    await worker.drain()
    ticks.now = 4.0
    await progress.report()  # nothing left: done, the progress shown final, the report queued
    broadcast = await stored(db, number)
    assert (broadcast.status, broadcast.finished_at) == ("done", NOW)
    assert len(telegram.cards) == 1 and "3 / 3" in telegram.cards[message_id]
    assert "已完成" in telegram.cards[message_id]
    async with db.transaction() as session:
        [report] = await messages_to(session, chat_id=MERCHANT)
        counts = (await counts_of(session, [broadcast]))[number]
    assert report.priority == TRANSACTIONAL and report.dedupe_key == f"bc:{number}:report"
    assert f"群发 #{number} 已完成" in report.text and "送达：3" in report.text
    assert (counts.delivered, counts.sent, counts.waiting) == (3, 3, 0)
    await progress.report()
    assert len(telegram.edits) == 2  # a finished broadcast is left alone


async def test_a_deleted_progress_message_is_posted_again(db):
    await seed(db)
    number = await queue(db)
    await starter(db).start_due()
    telegram, ticks = Telegram(), Ticks()
    progress = BroadcastProgress(db, telegram, TEXTS, Clock(NOW), "en", monotonic=ticks)
    await progress.report()
    [first] = telegram.cards
    telegram.gone.add(first)
    worker = DeliveryWorker(db, telegram, Clock(NOW), DeliveryPolicy(rate_per_second=1000, batch=1))
    await worker.deliver_batch()
    ticks.now = 10.0
    await progress.report()
    assert len(telegram.cards) == 2
    assert (await stored(db, number)).progress_message_id == max(telegram.cards)


async def test_a_broadcast_without_subscribers_finishes_with_a_report(db):
    await seed(db)
    number = await queue(db, audience="en", tip_number=1)
    async with db.transaction() as session:
        (await session.get(User, 1)).tips = False
    await starter(db).start_due()
    telegram = Telegram()
    await BroadcastProgress(db, telegram, TEXTS, Clock(NOW), "en").report()
    assert (await stored(db, number)).status == "done"
    async with db.transaction() as session:
        [report] = await messages_to(session, chat_id=MERCHANT)
    assert "Recipients: 0" in report.text


async def test_paid_broadcasts_go_with_allow_paid_broadcast(db):
    await seed(db)
    number = await queue(db)
    await starter(db).start_due()
    async with db.transaction() as session:
        await enqueue(session, dedupe_key="update", chat_id=MERCHANT, text="status", not_before=NOW)
    telegram = Telegram()
    policy = DeliveryPolicy(rate_per_second=25, paid_broadcast_rate=1000)
    assert policy.claim_size == 50
    await DeliveryWorker(db, telegram, Clock(NOW), policy).drain()
    assert {(m["chat_id"], m["paid"]) for m in telegram.sent} == {(MERCHANT, False), (1, True), (2, True),
                                                                   (6, True)}
    assert len(await rows_of(db, number)) == 3


def test_a_worker_claims_about_a_seconds_worth():
    assert DeliveryPolicy(rate_per_second=25).claim_size == 25
    assert DeliveryPolicy(rate_per_second=300).claim_size == 50
    assert DeliveryPolicy(rate_per_second=0.5).claim_size == 1


async def test_the_weekly_tip_is_the_next_library_tip(db):
    await seed(db)
    clock = Clock(NOW)
    weekly = starter(db, clock)
    first = await weekly.queue_weekly_tip()
    assert (first.tip_number, first.source, first.audience, first.status) == (1, "weekly", "all", "scheduled")
    assert await weekly.queue_weekly_tip() is None  # a second instance firing the same cron
    clock.now = NOW + timedelta(days=7)
    assert (await weekly.queue_weekly_tip()).tip_number == 2
    await queue(db, tip_number=5)  # a merchant's own broadcast does not move the weekly series
    clock.now = NOW + timedelta(days=14)
    assert (await weekly.queue_weekly_tip()).tip_number == 3
    assert await weekly.start_due() != []


async def test_instances_firing_the_weekly_cron_at_once_queue_one_tip(db):
    await seed(db)
    queued = await asyncio.gather(*(starter(db).queue_weekly_tip() for _ in range(3)))
    assert sorted(b is None for b in queued) == [False, True, True]
    async with db.transaction() as session:
        weekly = (await session.exec(select(Broadcast).where(Broadcast.source == "weekly"))).all()
    assert len(weekly) == 1


async def test_the_weekly_tip_goes_round_the_library(db):
    await queue(db, source="weekly", tip_number=TIP_COUNT, at=NOW - WEEKLY_GUARD * 2)
    assert (await starter(db).queue_weekly_tip()).tip_number == 1


@pytest.mark.parametrize("cron", ["0 10 * * MON", "30 9 * * 1-5", ""])
def test_weekly_tip_takes_a_cron_expression_or_nothing(cron):
    assert load_settings(bot_token="1:x", weekly_tip=cron).weekly_tip == cron


@pytest.mark.parametrize("cron", ["weekly", "0 25 * * *", "0 10 * *"])
def test_a_bad_weekly_tip_is_one_clear_config_line(cron):
    with pytest.raises(ConfigError) as refused:
        load_settings(bot_token="1:x", weekly_tip=cron)
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"WEEKLY_TIP: {cron!r} is not a cron expression like \"0 10 * * MON\"")
