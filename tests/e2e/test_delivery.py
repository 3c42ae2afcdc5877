"""The outbox worker against the sandbox, through each runtime's messenger: 429 pauses everything, 403 stops
a chat, 5xx retries."""

import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import telegram
from aiogram import Bot

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.ptb_runtime.messenger import PtbMessenger
from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.ports import Messenger
from storage.models import User
from storage.outbox import BULK, TRANSACTIONAL, count_by_status, enqueue, messages_to
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox
from tests.doubles import Clock
from tests.sandbox.helpers import sandbox_session

TOKEN = "515151:delivery-token"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CHATS = (301, 302, 303)


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    async with TelegramSandbox(token=TOKEN) as server:
        yield server


@pytest.fixture
async def client(sandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as sandbox_client:
        for chat in CHATS:
            await sandbox_client.create_user(chat, first_name=f"U{chat}")
        yield sandbox_client


@contextlib.asynccontextmanager
async def messenger_of(runtime: str, url: str) -> AsyncIterator[Messenger]:
    """The runtime's Messenger over a bot talking to the sandbox at `url`."""
    if runtime == "aiogram":
        aiogram_bot = Bot(TOKEN, session=sandbox_session(url))
        async with aiogram_bot.session:
            yield AiogramMessenger(aiogram_bot)
    else:
        async with telegram.Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as ptb_bot:
            yield PtbMessenger(ptb_bot)


@pytest.fixture(params=["aiogram", "ptb"])
async def messenger(request, sandbox) -> AsyncIterator[Messenger]:
    """The messenger the worker sends through, of each runtime in turn."""
    async with messenger_of(request.param, sandbox.url) as messenger:
        yield messenger


async def seed(db, messages: list[tuple[str, int, int]]) -> None:
    """Outbox rows (dedupe key, chat, priority), and the users they go to."""
    async with db.transaction() as session:
        for chat in CHATS:
            session.add(User(id=chat, first_name="U", locale="en", created_at=NOW))
        for key, chat, priority in messages:
            await enqueue(session, dedupe_key=key, chat_id=chat, text=f"message {key}", priority=priority,
                          not_before=NOW)


async def received(client: SandboxClient, chat: int) -> list[str]:
    return [m["text"] for m in await client.messages(chat) if m.get("from", {}).get("is_bot")]


def worker(db, messenger, clock, **policy) -> DeliveryWorker:
    return DeliveryWorker(db, messenger, clock, DeliveryPolicy(**policy))


async def test_everything_is_sent_once_transactional_first(db, messenger, client):
    await seed(db, [("tip", 301, BULK), ("update", 302, TRANSACTIONAL), ("landed", 303, TRANSACTIONAL)])
    delivery = worker(db, messenger, Clock(NOW))
    assert await delivery.drain() == 3
    assert await delivery.drain() == 0
    order = [int(c["params"]["chat_id"]) for c in await client.calls("sendMessage")]
    assert sorted(order[:2]) == [302, 303] and order[2] == 301
    for chat, key in ((301, "tip"), (302, "update"), (303, "landed")):
        assert await received(client, chat) == [f"message {key}"]


async def test_a_429_pauses_all_sending_for_retry_after(db, messenger, client):
    await seed(db, [("a", 301, TRANSACTIONAL), ("b", 302, TRANSACTIONAL), ("c", 303, TRANSACTIONAL)])
    await client.inject_fault("sendMessage", error_code=429, retry_after=1, count=1)
    clock = Clock(NOW)
    delivery = worker(db, messenger, clock)
    await delivery.drain()
    clock.now = NOW + timedelta(seconds=1)
    await delivery.drain()
    calls = await client.calls("sendMessage")
    limited = [c for c in calls if c["status"] == 429]
    after = [c for c in calls if c["status"] == 200 and c["time"] > limited[0]["time"]]
    assert len(limited) == 1 and delivery.stats.rate_limited == 1
    # sends already in flight when the 429 came back may land at once; none starts during the pause
    gaps = [c["time"] - limited[0]["time"] for c in after]
    assert all(gap < 0.05 or gap >= 0.99 for gap in gaps) and any(gap >= 0.99 for gap in gaps)
    assert sorted([(await received(client, chat)) for chat in CHATS]) == [["message a"], ["message b"],
                                                                          ["message c"]]
    async with db.transaction() as session:
        assert await count_by_status(session) == {"sent": 3}


async def test_a_403_marks_the_user_unreachable_and_drops_their_messages(db, messenger, client):
    await seed(db, [("a1", 301, TRANSACTIONAL), ("a2", 301, TRANSACTIONAL), ("b", 302, TRANSACTIONAL)])
    await client.set_blocked(301, True)
    delivery = worker(db, messenger, Clock(NOW))
    await delivery.drain()
    async with db.transaction() as session:
        blocked = await session.get(User, 301)
        assert blocked.unreachable is True
        rows = await messages_to(session, chat_id=301)
        assert {(r.status, "blocked the bot" in r.last_error) for r in rows} == {("dropped", True)}
        assert [r.status for r in await messages_to(session, chat_id=302)] == ["sent"]
    assert await received(client, 302) == ["message b"]
    assert len(await client.calls("sendMessage")) == 2  # one refused, one sent: no retry into a block


async def test_server_errors_retry_with_backoff_then_give_up(db, messenger, client):
    await seed(db, [("flaky", 301, TRANSACTIONAL), ("doomed", 302, TRANSACTIONAL)])
    await client.inject_fault("sendMessage", error_code=500, chat_id=301, count=2)
    await client.inject_fault("sendMessage", error_code=502, chat_id=302, count=10)
    clock = Clock(NOW)
    delivery = worker(db, messenger, clock, max_attempts=3, per_chat_interval=0)
    await delivery.drain()
    await delivery.drain()
    assert await received(client, 301) == []  # backing off: not due yet
    for seconds in (2, 6, 14):
        clock.now = NOW + timedelta(seconds=seconds)
        await delivery.drain()
    assert await received(client, 301) == ["message flaky"]
    async with db.transaction() as session:
        [flaky] = await messages_to(session, chat_id=301)
        [doomed] = await messages_to(session, chat_id=302)
    assert (flaky.status, flaky.attempts) == ("sent", 3)
    assert doomed.status == "failed" and doomed.attempts == 3 and "TelegramServerError" in doomed.last_error


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
async def test_the_enforced_limits_are_respected(db, runtime):
    async with TelegramSandbox(token=TOKEN, rate_limits=RateLimits(global_per_second=30)) as limited, \
            SandboxClient(limited.url) as users, messenger_of(runtime, limited.url) as messenger:
        chats = list(range(400, 440))
        for chat in chats:
            await users.create_user(chat)
        async with db.transaction() as session:
            for chat in chats:
                await enqueue(session, dedupe_key=f"m{chat}", chat_id=chat, text="hi", not_before=NOW)
            for n in range(3):
                await enqueue(session, dedupe_key=f"same{n}", chat_id=400, text=f"same {n}",
                              not_before=NOW)
        delivery = worker(db, messenger, Clock(NOW), rate_per_second=25)
        assert await delivery.drain() == 43
        stats = await users.stats()
        calls = await users.calls("sendMessage")
        same_chat = [c["time"] for c in calls if str(c["params"]["chat_id"]) == "400"]
    assert stats["rate_limited"] == 0 and delivery.stats.rate_limited == 0
    assert len(same_chat) == 4
    assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(same_chat))
