"""Outbox delivery rate against the sandbox's enforced flood limit (30 messages/s, 1 per chat per second).

Run: .venv/bin/python -m benchmarks.outbox_delivery [--messages 1500] [--same-chat 5] [--rate 25]
     .venv/bin/python -m benchmarks.outbox_delivery --instances 3 --redis [--processes] [--rate 28.5]
The sandbox runs in this process with Telegram's limits switched on; the outbox lives in a fresh SQLite
file (with --instances above 1 or --postgres: a fresh schema on the machine's PostgreSQL, one connection
pool, bot and worker per instance; --redis: the instances share RATE_LIMIT_URL's gate in the machine's
Redis, without it each paces itself; --processes: each instance a process of its own, the rate then taken
over the sandbox's first to last accepted send). M users get one message each, plus --same-chat extra
messages queued right behind the first user's own. The real worker (handlers.delivery.worker.DeliveryWorker
over AiogramMessenger and an aiogram Bot pointed at the sandbox) drains the outbox on the real clock.
Prints: messages, elapsed seconds, achieved messages/s, the configured and the enforced rate and the
ratios to both, the busiest one-second window the sandbox saw, the longest pause between two sends, 429s
counted by the sandbox and by the workers, the smallest gap between sends to the same chat, and whether
every outbox row was delivered exactly once (accepted sendMessage calls per chat and per text vs outbox
rows). """

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert
from sqlmodel import select

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.rate_redis import RedisGate
from handlers.delivery.worker import DeliveryPolicy, DeliveryStats, DeliveryWorker
from storage import schema
from storage.database import Database, create_engine
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
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


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


async def deliver(workers: list[DeliveryWorker], db: Database, expected: int) -> float:
    """Drain until every message is sent (a 429 leaves some not yet due); return the seconds taken."""
    started = time.perf_counter()
    while True:
        await asyncio.gather(*(worker.drain() for worker in workers))
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
                 workers: list[DeliveryWorker], calls: list[dict], rows: list[OutboxMessage]) -> None:
    """The figures of one run."""
    accepted = [c for c in calls if c["status"] == 200]
    achieved = total / seconds
    gate = "one Redis gate shared" if arguments.redis else "each its own gate"
    print(f"instances: {arguments.instances} ({gate}) on {'PostgreSQL' if postgres(arguments) else 'SQLite'}")
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
    seen = sum(worker.stats.rate_limited for worker in workers)
    print(f"429s: sandbox counted {stats['rate_limited']}, workers saw {seen} "
          f"(429 calls in the log: {sum(c['status'] == 429 for c in calls)})")
    for n, worker in enumerate(workers, 1):
        print(f"worker {n} stats: {worker.stats}")
    same, detail = exactly_once(accepted, rows)
    print(f"delivered exactly once: {'yes' if same else 'NO'} ({detail})")


def postgres(arguments: argparse.Namespace) -> bool:
    """Several instances share PostgreSQL, as in production."""
    return bool(arguments.postgres or arguments.instances > 1)


async def open_databases(arguments: argparse.Namespace, folder: Path) -> tuple[list[Database], str | None]:
    """One migrated database per instance (one PostgreSQL schema, or one SQLite file); the schema's name."""
    if not postgres(arguments):
        db = Database.connect(f"sqlite+aiosqlite:///{folder / 'outbox.sqlite3'}")
        await schema.upgrade(db.engine)
        return [db], None
    name = f"bench_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(POSTGRES_DSN)
    await connection.execute(f'CREATE SCHEMA "{name}"')
    await connection.close()
    url, options = engine_url_options(name)
    databases = [Database(create_engine(url, **options)) for _ in range(arguments.instances)]
    await schema.upgrade(databases[0].engine)
    return databases, name


async def drop_schema(name: str | None) -> None:
    if name is not None:
        connection = await asyncpg.connect(POSTGRES_DSN)
        await connection.execute(f'DROP SCHEMA "{name}" CASCADE')
        await connection.close()


def engine_url_options(name: str) -> tuple[str, dict]:
    """The PostgreSQL URL and engine options of the benchmark's schema."""
    url = POSTGRES_DSN.replace("postgresql://", "postgresql+asyncpg://")
    return url, {"connect_args": {"server_settings": {"search_path": name}}}


async def run_instance(arguments: argparse.Namespace) -> None:
    """One instance in a process of its own: drain until nothing is left, print the worker's stats."""
    url, options = engine_url_options(arguments.schema)
    db = Database(create_engine(url, **options))
    policy = DeliveryPolicy(rate_per_second=arguments.rate)
    gate = RedisGate(REDIS_URL, rate_per_second=arguments.rate, per_chat_interval=policy.per_chat_interval,
                     prefix=arguments.prefix) if arguments.redis else None
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(arguments.sandbox)))
    async with bot.session:
        worker = DeliveryWorker(db, AiogramMessenger(bot), utc_now, policy, gate=gate)
        while True:
            await worker.drain()
            async with db.transaction() as session:
                counts = await count_by_status(session)
            if not counts.get(OutboxStatus.PENDING) and not counts.get(OutboxStatus.SENDING):
                break
            await asyncio.sleep(0.05)
    if gate is not None:
        await gate.close()
    await db.dispose()
    print(json.dumps(asdict(worker.stats)))


async def run_processes(arguments: argparse.Namespace, sandbox_url: str, schema_name: str,
                        prefix: str) -> list[DeliveryWorker]:
    """The instances as processes; their stats back as workers' stats (their other parts unused)."""
    command = [sys.executable, "-m", "benchmarks.outbox_delivery", "--rate", str(arguments.rate),
               "--instance-of", sandbox_url, "--schema", schema_name, "--prefix", prefix]
    if arguments.redis:
        command.append("--redis")
    children = [await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
                for _ in range(arguments.instances)]
    outputs = [await child.communicate() for child in children]
    finished = []
    for stdout, _ in outputs:
        worker = DeliveryWorker(None, None, utc_now)  # type: ignore[arg-type]  # a holder of the stats
        worker.stats = DeliveryStats(**json.loads(stdout.decode().strip().splitlines()[-1]))
        finished.append(worker)
    return finished


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1500, help="users, one message each")
    parser.add_argument("--same-chat", type=int, default=5, help="extra messages to the first user")
    parser.add_argument("--rate", type=float, default=25, help="the worker's messages per second")
    parser.add_argument("--instances", type=int, default=1, help="workers, each with its own pool and bot")
    parser.add_argument("--redis", action="store_true", help="share a rate gate in the machine's Redis")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL even for one instance")
    parser.add_argument("--processes", action="store_true", help="each instance a process of its own")
    parser.add_argument("--instance-of", dest="sandbox", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.sandbox:
        await run_instance(arguments)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    databases, schema_name = await open_databases(arguments, folder)
    db = databases[0]
    limits = RateLimits(global_per_second=ENFORCED_PER_SECOND, per_chat_per_second=PER_CHAT_PER_SECOND)
    plan = planned_messages(arguments.messages, arguments.same_chat)
    sandbox = TelegramSandbox(token=TOKEN, rate_limits=limits)
    prefix = f"bench-rate:{uuid.uuid4().hex}"
    policy = DeliveryPolicy(rate_per_second=arguments.rate)
    gates = [RedisGate(REDIS_URL, rate_per_second=arguments.rate, per_chat_interval=policy.per_chat_interval,
                       prefix=prefix) for _ in databases] if arguments.redis else [None] * len(databases)
    async with sandbox, SandboxClient(sandbox.url) as client, contextlib.AsyncExitStack() as stack:
        await create_sandbox_users(client, arguments.messages)
        await seed(db, arguments.messages, plan)
        workers = []
        for instance_db, gate in zip(databases, gates if not arguments.processes else [], strict=False):
            bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url)))
            await stack.enter_async_context(bot.session)
            workers.append(DeliveryWorker(instance_db, AiogramMessenger(bot), utc_now, policy, gate=gate))
        print(f"sending {len(plan):,} messages at {arguments.rate:g}/s with {len(workers)} worker(s) …",
              flush=True)
        if arguments.processes:
            assert schema_name is not None
            workers = await run_processes(arguments, sandbox.url, schema_name, prefix)
            times = sorted(c["time"] for c in await client.calls("sendMessage") if c["status"] == 200)
            seconds = (times[-1] - times[0]) * len(plan) / (len(plan) - 1)
        else:
            seconds = await deliver(workers, db, len(plan))
        print_report(arguments, len(plan), seconds, await client.stats(), workers,
                     await client.calls("sendMessage"), await outbox_rows(db))
    for gate in gates:
        if gate is not None:
            await gate.close()
    for database in databases:
        await database.dispose()
    await drop_schema(schema_name)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
