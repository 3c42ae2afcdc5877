"""Broadcasts end to end: the real bot sends a confirmed broadcast through the rate-limited sandbox."""

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot import scheduler
from bot.config import load_settings
from bot.wiring import build_services
from handlers.buttons import TipsButton, TipsChoice
from storage.broadcasts import add_broadcast, broadcast_by_id
from storage.models import Broadcast, BroadcastStatus, User
from storage.outbox import enqueue
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox
from tests.e2e.conftest import NOW, QUICK_TICK, TOKEN
from tests.e2e.test_crash import CLI, sent_per_chat, statuses
from tests.e2e.test_delivery import received

MERCHANT = 900
LIMITS = RateLimits(global_per_second=30, per_chat_per_second=1)


@pytest.fixture(autouse=True)
def _quick_progress(monkeypatch) -> None:
    monkeypatch.setattr(scheduler, "PROGRESS_TICK", QUICK_TICK)


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    """Telegram's flood limits enforced: about 30 messages a second, one per chat per second."""
    async with TelegramSandbox(token=TOKEN, rate_limits=LIMITS) as server:
        yield server


async def people(db, client, payers: list[tuple[int, str, bool | None]], merchant_locale: str = "en") -> None:
    """The merchant and the payers (id, locale, tips) in the sandbox and in the bot's database."""
    await client.create_user(MERCHANT, first_name="Mia", language_code=merchant_locale)
    for user_id, locale, _ in payers:
        await client.create_user(user_id, first_name=f"P{user_id}", language_code=locale)
    async with db.transaction() as session:
        session.add(User(id=MERCHANT, first_name="Mia", locale=merchant_locale, created_at=NOW))
        for user_id, locale, tips in payers:
            session.add(User(id=user_id, first_name=f"P{user_id}", locale=locale, tips=tips, tips_asked=True,
                             created_at=NOW))


async def confirm(db, at: datetime = NOW, **fields) -> int:
    """A broadcast as the merchant's Confirm (or `broadcasts send --yes`) records it."""
    fields.setdefault("tip_number", 4)
    async with db.transaction() as session:
        broadcast = await add_broadcast(session, Broadcast(
            status=BroadcastStatus.SCHEDULED, source="chat", created_by=MERCHANT, progress_chat_id=MERCHANT,
            scheduled_at=at, created_at=at, **fields,
        ))
    return broadcast.id


async def until(check, timeout: float = 30, every: float = 0.05):
    """Wait until `check()` returns something true; return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await check()):
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(every)
    return result


async def _unreachable(db, user_id: int) -> bool:
    async with db.transaction() as session:
        return (await session.get(User, user_id)).unreachable


async def _rate_limited(client) -> bool:
    return any(c["status"] == 429 for c in await client.calls("sendMessage"))


async def finished(db, number: int) -> Broadcast | None:
    async with db.transaction() as session:
        broadcast = await broadcast_by_id(session, broadcast_id=number)
    return broadcast if broadcast.status == BroadcastStatus.DONE else None


async def test_a_confirmed_broadcast_reaches_subscribers_only_once_each(harness, client):
    db = harness.running.services.db
    subscribers = [(2000 + n, "zh" if n % 3 == 0 else "en", True) for n in range(24)]
    others = [(2100, "en", False), (2101, "zh", None), (2102, "en", False)]  # opted out, never answered
    blocked = (2200, "en", True)
    await people(db, client, [*subscribers, *others, blocked], merchant_locale="zh")
    await client.set_blocked(blocked[0], True)
    await until(lambda: _unreachable(db, blocked[0]))
    async with db.transaction() as session:  # as if the bot had missed the update that said so
        (await session.get(User, blocked[0])).unreachable = False
    await client.inject_fault("sendMessage", error_code=429, retry_after=1, chat_id=subscribers[5][0])
    later = await confirm(db, at=NOW.replace(year=2027), tip_number=8)  # not due: nothing of it goes out

    number = await confirm(db, audience="all")
    await until(lambda: _rate_limited(client))
    harness.clock.now = NOW + timedelta(seconds=2)  # the 429'd tip is due again after retry_after
    report = await until(lambda: finished(db, number))
    final = (await client.wait_for_bot_messages(MERCHANT, count=2, timeout=15))[-1]

    for user_id, locale, _ in subscribers:
        [tip] = [m for m in await client.messages(user_id) if m.get("from", {}).get("is_bot")]
        assert tip["text"] == harness.running.services.texts.get(locale, "tip.4")
        [[button]] = tip["reply_markup"]["inline_keyboard"]
        assert button["callback_data"] == TipsButton(TipsChoice.OFF).pack()
        assert button["text"] == ("不再接收小贴士" if locale == "zh" else "Stop tips")
    for user_id, _, _ in others:
        assert await received(client, user_id) == []
    per_chat = await sent_per_chat(client)
    assert all(per_chat[user_id] == 1 for user_id, _, _ in subscribers)  # the 429'd one went once, later
    calls = await client.calls("sendMessage")
    assert [c["status"] for c in calls].count(429) == 1 and (await client.stats())["rate_limited"] == 0
    assert [c["status"] for c in calls if int(c["params"]["chat_id"]) == blocked[0]] == [403]

    assert report.recipients == 25 and report.finished_at is not None
    progress, *_ = [m for m in await client.messages(MERCHANT) if m.get("from", {}).get("is_bot")]
    assert f"群发 #{number}：已发送 25 / 25" in progress["text"] and "已完成" in progress["text"]
    assert "送达：24" in final["text"] and "无法送达（已屏蔽机器人）：1" in final["text"]
    async with db.transaction() as session:
        assert (await session.get(User, blocked[0])).unreachable is True
        assert (await broadcast_by_id(session, broadcast_id=later)).status == "scheduled"


async def test_a_transactional_message_overtakes_a_running_broadcast(harness, client):
    db = harness.running.services.db
    subscribers = [(3000 + n, "en", True) for n in range(75)]  # three seconds of sending at 25/s
    await people(db, client, subscribers)
    payer = 3999
    await client.create_user(payer, first_name="Pat")
    number = await confirm(db)
    await until(lambda: _sent_at_least(client, 20))
    async with db.transaction() as session:  # a status update, as a refund's landing writes it
        await enqueue(session, dedupe_key="landed:1", chat_id=payer, text="Your refund has landed",
                      not_before=NOW)
    enqueued = asyncio.get_running_loop().time()
    await client.wait_for_bot_messages(payer, count=1, timeout=5)
    waited = asyncio.get_running_loop().time() - enqueued
    assert waited < 2, waited
    # The bot's clock stands still here: a tip a 429 postponed (a loaded machine bunches requests) is due
    # again only once the clock has moved past its retry_after.
    harness.clock.now = NOW + timedelta(seconds=5)
    await until(lambda: finished(db, number))
    calls = [c for c in await client.calls("sendMessage") if c["status"] == 200]
    [update_sent] = [c["time"] for c in calls if int(c["params"]["chat_id"]) == payer]
    # the broadcast was still going when the update went past it
    assert any(c["time"] > update_sent for c in calls if 3000 <= int(c["params"]["chat_id"]) < 3075)


async def _sent_at_least(client, count: int) -> bool:
    """Whether `count` tips went out (the merchant's progress message aside)."""
    sent = await sent_per_chat(client)
    return sum(sent.values()) - sent[MERCHANT] >= count


async def test_paid_broadcasts_go_faster_than_the_free_limit(harness, client):
    await until(lambda: client.calls("setMyCommands"))  # started: stopping now stops it
    await harness.stop()
    harness.overrides.update(broadcast_paid="on", broadcast_paid_rate=200)
    await harness.start()
    db = harness.running.services.db
    subscribers = [(4000 + n, "en", True) for n in range(150)]
    await people(db, client, subscribers)
    number = await confirm(db)
    started = asyncio.get_running_loop().time()
    await until(lambda: finished(db, number))
    took = asyncio.get_running_loop().time() - started
    tips = [c for c in await client.calls("sendMessage") if int(c["params"]["chat_id"]) != MERCHANT]
    assert len(tips) == 150 and all(c["status"] == 200 for c in tips)  # no 429 above the free 30/s
    assert all(c["params"]["allow_paid_broadcast"] in (True, "true") for c in tips)
    assert took < 150 / 30, took


@pytest.mark.transcript_at_least_once
async def test_kill_9_mid_broadcast_then_restart_sends_each_tip_once(sandbox, client, tmp_path, runtime):
    data_dir = tmp_path / "data"
    services = await build_services(load_settings(bot_token=TOKEN, data_dir=data_dir))
    subscribers = [(7000 + n, "en", True) for n in range(40)]
    await people(services.db, client, subscribers)
    async with services.db.transaction() as session:
        broadcast = await add_broadcast(session, Broadcast(
            status=BroadcastStatus.SCHEDULED, source="cli", tip_number=2, scheduled_at=datetime.now(UTC),
            created_at=datetime.now(UTC), progress_chat_id=MERCHANT))
    bot = await start_bot(sandbox.url, data_dir, runtime)
    try:
        await until(lambda: _sent_at_least(client, 10))
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        before_restart = await sent_per_chat(client)
        assert 10 <= sum(before_restart[chat] for chat, _, _ in subscribers) < len(subscribers)

        bot = await start_bot(sandbox.url, data_dir, runtime)
        await until(lambda: finished(services.db, broadcast.id), timeout=30)
        await until(lambda: _report_sent(services))
    finally:
        if bot.returncode is None:
            bot.terminate()
            await bot.wait()
    delivered = await sent_per_chat(client)
    assert {chat for chat, _, _ in subscribers} <= set(delivered)
    twice = [chat for chat, _, _ in subscribers if delivered[chat] > 1]
    assert len(twice) <= 1 and all(delivered[chat] == 2 for chat in twice)  # at most the one in flight
    async with services.db.transaction() as session:
        assert (await broadcast_by_id(session, broadcast_id=broadcast.id)).recipients == 40
    await services.close()


async def _report_sent(services) -> bool:
    counts = await statuses(services)
    return counts.get("sent", 0) == 41 and set(counts) == {"sent"}


async def start_bot(sandbox_url, data_dir, runtime) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox_url, "DATA_DIR": str(data_dir),
                        "OUTBOX_RATE": "10", "OUTBOX_LEASE": "2s", "QUIET_HOURS": "off",
                        "BOT_RUNTIME": runtime})
    return await asyncio.create_subprocess_exec(CLI, "run", env=environment, cwd=data_dir.parent,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)

