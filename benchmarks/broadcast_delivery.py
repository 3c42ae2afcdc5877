"""A broadcast to 20,000 subscribers through the sandbox with an enforced flood limit.

Run: .venv/bin/python -m benchmarks.broadcast_delivery [--recipients 20000] [--limit 300] [--rate 295]
     [--blocked 20]
The sandbox runs in a process of its own (as Telegram is elsewhere) with Telegram's limits switched on,
raised to --limit messages per second in all (one per chat per second stays). The bot's database is a fresh
SQLite file with --recipients subscribed payers (some of them blocked the bot without the bot knowing).
The real parts do the work: BroadcastStarter expands the due broadcast into outbox rows (one transaction),
DeliveryWorker drains them over AiogramMessenger at --rate, and BroadcastProgress edits the progress message
in the merchant's chat meanwhile, paced by the worker. Prints: the expansion's time and peak Python memory
(tracemalloc), the delivery's elapsed time, achieved messages/s and its ratio to the allowed (enforced) rate,
429s caused, duplicates, lost messages, the final counts, and the bot process's peak resident memory.
Each message is recorded as sent in its own transaction (so a crash resends at most the one in flight), which
bounds one SQLite process to a few hundred messages a second: compare with --limit 100000 --rate 1000."""

import argparse
import asyncio
import contextlib
import multiprocessing
import resource
import shutil
import socket
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert, select

from bot.aiogram_runtime.messenger import AiogramMessenger
from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.merchant.delivery import BroadcastStarter
from handlers.merchant.progress import BroadcastProgress
from handlers.texts import Texts
from storage import schema
from storage.broadcasts import add_broadcast, broadcast_by_id, counts_of, unsent_counts
from storage.database import Database
from storage.models import Broadcast, BroadcastStatus, OutboxMessage, User
from storage.upsert import table_of
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox

TOKEN = "424242:broadcast-benchmark"
MERCHANT = 1
FIRST_PAYER = 600_000
TIMEOUT = 900


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


async def seed(db: Database, recipients: int) -> int:
    """The merchant, the subscribed payers (a third Chinese) and a broadcast due now; its id."""
    now = utc_now()
    def user(user_id: int, locale: str, tips: bool | None) -> dict:
        return {"id": user_id, "first_name": f"U{user_id}", "username": None, "locale": locale,
                "locale_chosen": False, "unreachable": False, "tips": tips, "tips_asked": tips is not None,
                "created_at": now}

    users = [user(MERCHANT, "en", None)]
    users += [user(FIRST_PAYER + n, "zh" if n % 3 else "en", True) for n in range(recipients)]
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.execute(insert(table_of(User)), users)
        broadcast = await add_broadcast(session, Broadcast(
            status=BroadcastStatus.SCHEDULED, source="cli", tip_number=3, audience="all", scheduled_at=now,
            created_at=now, progress_chat_id=MERCHANT,
        ))
    assert broadcast.id is not None
    return broadcast.id


async def create_sandbox_users(client: SandboxClient, recipients: int, blocked: int) -> None:
    """Each payer and their private chat; the first `blocked` ones block the bot."""
    await client.create_user(MERCHANT, first_name="Merchant")
    ids = [FIRST_PAYER + n for n in range(recipients)]
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        await asyncio.gather(*(client.create_user(user_id, first_name="P") for user_id in chunk))
    for user_id in ids[:blocked]:
        await client.set_blocked(user_id, True)


def serve_sandbox(port: int, limit: float) -> None:
    """The sandbox with the enforced limits, in a process of its own, until terminated."""
    async def serve() -> None:
        limits = RateLimits(global_per_second=limit, per_chat_per_second=1)
        sandbox = TelegramSandbox(token=TOKEN, rate_limits=limits)
        await sandbox.start("127.0.0.1", port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until_serving(client: SandboxClient) -> None:
    """Wait for the sandbox process to answer."""
    for _ in range(200):
        with contextlib.suppress(OSError):
            await client.stats()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the sandbox did not start")


async def expand(db: Database, texts: Texts) -> tuple[float, int]:
    """Start the due broadcast; (seconds, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    started = time.perf_counter()
    await BroadcastStarter(db, texts, utc_now, "en").start_due()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


async def deliver(worker: DeliveryWorker, progress: BroadcastProgress, db: Database, number: int) -> float:
    """Drain until nothing of the broadcast is left and the progress says done; the seconds it took."""
    started = time.perf_counter()

    async def show_progress() -> None:
        while True:
            await progress.report()
            await asyncio.sleep(1)

    reporter = asyncio.create_task(show_progress())
    try:
        while True:
            await worker.drain()
            async with db.transaction() as session:
                left = (await unsent_counts(session, broadcast_ids=[number])).get(number, 0)
            if not left:
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() - started > TIMEOUT:
                raise TimeoutError(f"{left} messages still unsent after {TIMEOUT} s")
            await asyncio.sleep(0.05)
    finally:
        reporter.cancel()
    await progress.report()  # marks it done and queues the report
    await worker.drain()
    return seconds


def duplicates_and_lost(calls: list[dict], rows: list[tuple[int, str]]) -> tuple[int, int]:
    """Tips accepted twice by the sandbox, and outbox rows whose recipient got nothing nor was unreachable."""
    accepted = Counter(int(c["params"]["chat_id"]) for c in calls
                       if c["status"] == 200 and int(c["params"]["chat_id"]) != MERCHANT)
    duplicates = sum(n - 1 for n in accepted.values() if n > 1)
    lost = sum(1 for chat, status in rows if status == "sent" and accepted[chat] == 0)
    lost += sum(1 for _, status in rows if status not in ("sent", "dropped"))
    return duplicates, lost


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--limit", type=float, default=300, help="messages/s the sandbox allows in all")
    parser.add_argument("--rate", type=float, default=295, help="the worker's OUTBOX_RATE")
    parser.add_argument("--blocked", type=int, default=20, help="payers who blocked the bot unnoticed")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    db = Database.connect(f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}")
    await schema.upgrade(db.engine)
    texts = Texts.load()
    port = free_port()
    sandbox = multiprocessing.get_context("spawn").Process(target=serve_sandbox, args=(port, arguments.limit))
    sandbox.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await run(arguments, db, texts, url)
    finally:
        sandbox.terminate()
        sandbox.join()
    await db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


async def run(arguments: argparse.Namespace, db: Database, texts: Texts, url: str) -> None:
    """Seed, expand, deliver and print the figures."""
    async with SandboxClient(url) as client:
        await until_serving(client)
        print(f"creating {arguments.recipients:,} subscribers …", file=sys.stderr, flush=True)
        await create_sandbox_users(client, arguments.recipients, arguments.blocked)
        number = await seed(db, arguments.recipients)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        expansion_seconds, expansion_peak = await expand(db, texts)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
        async with bot.session:
            messenger = AiogramMessenger(bot)
            worker = DeliveryWorker(db, messenger, utc_now, DeliveryPolicy(rate_per_second=arguments.rate))
            progress = BroadcastProgress(db, messenger, texts, utc_now, "en", pace=worker.wait_turn)
            print(f"sending at {arguments.rate:g}/s against an enforced {arguments.limit:g}/s …",
                  file=sys.stderr, flush=True)
            seconds = await deliver(worker, progress, db, number)
        calls = await client.calls("sendMessage") + await client.calls("editMessageText")
        stats = await client.stats()
        async with db.transaction() as session:
            broadcast = await broadcast_by_id(session, broadcast_id=number)
            assert broadcast is not None
            counts = (await counts_of(session, [broadcast]))[number]
            outbox = table_of(OutboxMessage)
            connection = await session.connection()
            query = select(outbox.c.chat_id, outbox.c.status).where(outbox.c.broadcast_id == number)
            rows = [(int(chat), str(status)) for chat, status in (await connection.execute(query)).all()]
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    duplicates, lost = duplicates_and_lost(calls, rows)
    tips = counts.sent
    achieved = tips / seconds
    print(f"recipients: {counts.recipients:,} ({arguments.blocked} blocked the bot unnoticed)")
    print(f"expansion into outbox rows: {expansion_seconds:.2f} s, peak Python memory "
          f"{expansion_peak / 2**20:.1f} MiB (tracemalloc)")
    print(f"delivery: {tips:,} messages in {seconds:.2f} s = {achieved:.1f} messages/s")
    print(f"allowed (enforced by the sandbox): {arguments.limit:g}/s; worker rate {arguments.rate:g}/s")
    print(f"achieved / allowed: {achieved / arguments.limit:.3f}; achieved / worker rate: "
          f"{achieved / arguments.rate:.3f}")
    print(f"429s caused: {stats['rate_limited']} (worker saw {worker.stats.rate_limited})")
    print(f"progress edits: {sum(c['method'] == 'editMessageText' for c in calls)}")
    print(f"counts: delivered {counts.delivered:,}, unreachable {counts.unreachable:,}, "
          f"failed {counts.failed:,}; status {broadcast.status}")
    print(f"duplicates: {duplicates}; lost: {lost}")
    print(f"peak resident memory of the bot process: {rss_peak / 1024:.0f} MiB "
          f"(before the broadcast: {rss_before / 1024:.0f} MiB)")


if __name__ == "__main__":
    asyncio.run(main())
