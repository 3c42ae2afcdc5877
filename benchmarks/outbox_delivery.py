"""Outbox delivery rate against the sandbox's enforced flood limit (30 messages/s, 1 per chat per second).

Run: .venv/bin/python -m benchmarks.outbox_delivery [--messages 1500] [--same-chat 5] [--rate 25]
The sandbox runs in this process with Telegram's limits switched on; the outbox lives in a fresh SQLite
file. M users get one message each, plus --same-chat extra messages queued right behind the first user's
own. The real worker (handlers.delivery.worker.DeliveryWorker over AiogramMessenger and an aiogram Bot
pointed at the sandbox) drains the outbox on the real clock. Prints: messages, elapsed seconds, achieved
messages/s, the configured and the enforced rate and the ratios to both, the busiest one-second window the
sandbox saw, the longest pause between two sends, 429s counted by the sandbox and by the worker, the
smallest gap between sends to the same chat, and whether every outbox row was delivered exactly once
(accepted sendMessage calls per chat and per text vs outbox rows). """

import argparse
import asyncio
import bisect
import itertools
import shutil
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert
from sqlmodel import select

from bot.aiogram_runtime.messenger import AiogramMessenger
from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from storage import schema
from storage.database import Database
from storage.models import OutboxMessage, OutboxStatus, User
from storage.outbox import count_by_status, enqueue
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox

TOKEN = "424242:outbox-benchmark"
ENFORCED_PER_SECOND = 30
PER_CHAT_PER_SECOND = 1
FIRST_CHAT = 500_000
DRAIN_TIMEOUT = 600


def utc_now() -> datetime:
    """The worker's clock: the real one."""
    return datetime.now(UTC)


def planned_messages(users: int, same_chat: int) -> list[tuple[str, int]]:
    """(dedupe key, chat) in queue order: one per user, the extras right behind the first user's."""
    chats = [FIRST_CHAT + n for n in range(users)]
    plan = [(f"bench:{chats[0]}:0", chats[0])]
    plan += [(f"bench:{chats[0]}:{k}", chats[0]) for k in range(1, same_chat + 1)]
    return plan + [(f"bench:{chat}:0", chat) for chat in chats[1:]]


async def seed(db: Database, users: int, plan: list[tuple[str, int]]) -> None:
    """The users and their queued messages, all due now."""
    now = utc_now()
    rows = [{"id": FIRST_CHAT + n, "first_name": f"U{n}", "username": None, "locale": "en",
             "locale_chosen": False, "unreachable": False, "created_at": now} for n in range(users)]
    async with db.transaction() as session:
        await session.exec(insert(User.__table__), params=rows)
        for key, chat in plan:
            await enqueue(session, dedupe_key=key, chat_id=chat, text=f"status update {key}", not_before=now)


async def create_sandbox_users(client: SandboxClient, users: int) -> None:
    """Each user and their private chat, so sendMessage reaches someone."""
    for n in range(users):
        await client.create_user(FIRST_CHAT + n, first_name=f"U{n}")


async def deliver(worker: DeliveryWorker, db: Database, expected: int) -> float:
    """Drain until every message is sent (a 429 leaves some not yet due); return the seconds taken."""
    started = time.perf_counter()
    while True:
        await worker.drain()
        async with db.transaction() as session:
            sent = (await count_by_status(session)).get(OutboxStatus.SENT, 0)
        if sent >= expected:
            return time.perf_counter() - started
        if time.perf_counter() - started > DRAIN_TIMEOUT:
            raise TimeoutError(f"only {sent} of {expected} sent after {DRAIN_TIMEOUT} s")
        await asyncio.sleep(0.05)


def busiest_second(times: list[float]) -> int:
    """Most accepted sends within any one-second window (the sandbox's own sliding window)."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


def smallest_chat_gap(calls: list[dict]) -> float | None:
    """Smallest time between two accepted sends to the same chat."""
    by_chat: dict[str, list[float]] = {}
    for call in calls:
        by_chat.setdefault(str(call["params"]["chat_id"]), []).append(call["time"])
    gaps = [b - a for times in by_chat.values() for a, b in itertools.pairwise(sorted(times))]
    return min(gaps, default=None)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    """Every outbox row after the run."""
    async with db.transaction() as session:
        return list((await session.exec(select(OutboxMessage))).all())


def exactly_once(accepted: list[dict], rows: list[OutboxMessage]) -> tuple[bool, str]:
    """Compare accepted sendMessage calls with the outbox, per chat and per text."""
    sent_per_chat = Counter(int(c["params"]["chat_id"]) for c in accepted)
    rows_per_chat = Counter(r.chat_id for r in rows)
    sent_texts = Counter((int(c["params"]["chat_id"]), c["params"]["text"]) for c in accepted)
    row_texts = Counter((r.chat_id, r.text) for r in rows)
    duplicates = sum(n - 1 for n in sent_texts.values() if n > 1)
    missing = sum((row_texts - sent_texts).values())
    unsent = sum(r.status != OutboxStatus.SENT for r in rows)
    same = sent_per_chat == rows_per_chat and not duplicates and not missing and not unsent
    detail = (f"{len(rows):,} outbox rows, {len(accepted):,} accepted sendMessage calls over "
              f"{len(sent_per_chat):,} chats; {duplicates} duplicated, {missing} missing, "
              f"{unsent} rows not sent")
    return same, detail


def print_report(arguments: argparse.Namespace, total: int, seconds: float, stats: dict,
                 worker: DeliveryWorker, calls: list[dict], rows: list[OutboxMessage]) -> None:
    """The figures of one run."""
    accepted = [c for c in calls if c["status"] == 200]
    achieved = total / seconds
    print(f"messages: {total:,} ({arguments.messages:,} chats, {arguments.same_chat} extra to one chat)")
    print(f"elapsed: {seconds:.2f} s; achieved: {achieved:.2f} messages/s")
    print(f"configured rate: {arguments.rate:g}/s; enforced by the sandbox: {ENFORCED_PER_SECOND}/s "
          f"(and {PER_CHAT_PER_SECOND}/s per chat)")
    print(f"achieved / configured: {achieved / arguments.rate:.3f}; "
          f"achieved / enforced: {achieved / ENFORCED_PER_SECOND:.3f}")
    print(f"busiest one-second window at the sandbox: {busiest_second([c['time'] for c in accepted])} sends")
    times = sorted(c["time"] for c in accepted)
    pause = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    print(f"longest pause between two accepted sends: {pause:.2f} s "
          f"(even spacing: {1 / arguments.rate:.3f} s)")
    gap = smallest_chat_gap(accepted)
    print(f"smallest gap between sends to one chat: {gap:.3f} s" if gap is not None else "no chat got two")
    print(f"429s: sandbox counted {stats['rate_limited']}, worker saw {worker.stats.rate_limited} "
          f"(429 calls in the log: {sum(c['status'] == 429 for c in calls)})")
    print(f"worker stats: {worker.stats}")
    same, detail = exactly_once(accepted, rows)
    print(f"delivered exactly once: {'yes' if same else 'NO'} ({detail})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1500, help="users, one message each")
    parser.add_argument("--same-chat", type=int, default=5, help="extra messages to the first user")
    parser.add_argument("--rate", type=float, default=25, help="the worker's messages per second")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    db = Database.connect(f"sqlite+aiosqlite:///{folder / 'outbox.sqlite3'}")
    await schema.upgrade(db.engine)
    limits = RateLimits(global_per_second=ENFORCED_PER_SECOND, per_chat_per_second=PER_CHAT_PER_SECOND)
    plan = planned_messages(arguments.messages, arguments.same_chat)
    sandbox = TelegramSandbox(token=TOKEN, rate_limits=limits)
    async with sandbox, SandboxClient(sandbox.url) as client:
        await create_sandbox_users(client, arguments.messages)
        await seed(db, arguments.messages, plan)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url)))
        async with bot.session:
            worker = DeliveryWorker(db, AiogramMessenger(bot), utc_now,
                                    DeliveryPolicy(rate_per_second=arguments.rate))
            print(f"sending {len(plan):,} messages at {arguments.rate:g}/s …", flush=True)
            seconds = await deliver(worker, db, len(plan))
        print_report(arguments, len(plan), seconds, await client.stats(), worker,
                     await client.calls("sendMessage"), await outbox_rows(db))
    await db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
