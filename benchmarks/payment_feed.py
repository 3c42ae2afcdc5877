"""The live payment feed (POST /api/payments over real HTTP): events per second with the monitor on vs off,
and how soon a payer's alert is in the outbox after the second charge of a duplicate pair arrives.

Run: .venv/bin/python -m benchmarks.payment_feed [--events 10000] [--clients 8] [--batch 100] [--singles 20]
                                                 [--rounds 3] [--postgres]
     .venv/bin/python -m benchmarks.payment_feed --alert-latency [--rate 100] [--pairs 20]
                                                 [--background-batch 1] [--postgres]
The bot's real HTTP app (bot.http_api.refund_status_app, built from the settings by bot.wiring) serves on
a free local port in this process; the clients run in the same process and sign every request like a
payment platform's relay. Throughput: N clients share the events; each sends a signed batch of --batch
events, then --singles single-event requests, and again until its share is sent. About one charge in fifty
repeats an earlier one of the same payer and amount (a duplicate for the monitor), half of the payers are
linked to a Telegram user. Run twice on a fresh database: with the monitor off (no ChargeWatch) and on
(the ChargeWatch of the settings); prints both, their ratio (aim: on/off >= 0.7) and request latencies.
Alert latency: a steady background of events at --rate per second (single-event requests, or
--background-batch events per request; at most 32 requests in flight); every second a duplicate pair
of a linked payer (the second charge 20 s after the first); measured from posting the second charge to
its payer's row (chat_id = the linked Telegram user) appearing in the `outbox` table, polled every 2 ms.
"""

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import insert, text

from bot.config import Settings, load_settings
from bot.http_api import refund_status_app, serve_http
from bot.signing import sign
from bot.wiring import Services, build_services
from storage.models import User
from storage.payer_links import link_payers

SECRET = "whsec_benchmark_feed_3fQ9xK"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_payment_feed"
PAYERS = 5_000
FIRST_USER = 800_000
ALERT_TIMEOUT = 10.0


@dataclass
class Run:
    """What one throughput run measured."""

    events: int = 0
    seconds: float = 0.0
    batch_ms: list[float] = field(default_factory=list)
    single_ms: list[float] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    suspected: int = 0
    outbox: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def utc_now() -> datetime:
    """The bot's clock: the real one."""
    return datetime.now(UTC)


def charge(rng: random.Random, number: int, recent: list[tuple[str, str]]) -> dict:
    """A successful charge; about one in fifty repeats a recent payer and amount (a duplicate)."""
    if recent and rng.random() < 0.02:
        payer, amount = rng.choice(recent[-200:])
    else:
        payer, amount = f"payer-{rng.randrange(PAYERS)}", f"{rng.randrange(100, 99_999) / 100:.2f}"
        recent.append((payer, amount))
    return {"type": "charge.succeeded", "transaction_id": f"tx-{number:09d}", "order_id": f"ord-{number:09d}",
            "payer_id": payer, "amount": amount, "currency": "CNY",
            "created_at": utc_now().isoformat(timespec="seconds"), "method": "wallet"}


def planned_requests(events: int, clients: int, batch: int, singles: int,
                     seed: int = 11) -> list[list[bytes]]:
    """Per client, the JSON bodies it sends in order: a batch, then `singles` single events, and again."""
    rng, recent, number = random.Random(seed), [], 0
    plans: list[list[bytes]] = [[] for _ in range(clients)]
    share = events // clients
    for plan in plans:
        left = share
        while left > 0:
            size = min(batch, left)
            batch_events = [charge(rng, number + k, recent) for k in range(size)]
            plan.append(json.dumps({"events": batch_events}).encode())
            number, left = number + size, left - size
            for _ in range(min(singles, left)):
                plan.append(json.dumps(charge(rng, number, recent)).encode())
                number, left = number + 1, left - 1
    return plans


def settings_for(folder: Path, postgres: bool) -> Settings:
    """The bot's settings for a run: the feed's secret, a SQLite file or the machine's PostgreSQL."""
    database_url = POSTGRES_URL if postgres else f"sqlite+aiosqlite:///{folder / 'feed.sqlite3'}"
    return load_settings(bot_token="1:benchmark", merchant_webhook_secret=SECRET, http_port=0,
                         data_dir=folder, database_url=database_url)


async def fresh_services(folder: Path, postgres: bool) -> Services:
    """Migrated services on an empty database (a new file, or a recreated throwaway schema)."""
    settings = settings_for(folder, postgres)
    if not postgres:
        (folder / "feed.sqlite3").unlink(missing_ok=True)
        return await build_services(settings)
    options = {"connect_args": {"server_settings": {"search_path": SCHEMA}}}
    services = await build_services(settings, migrate=False, engine_options=options)
    async with services.db.engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    await services.close()
    return await build_services(settings, engine_options=options)


async def drop_schema(services: Services) -> None:
    """PostgreSQL: drop the throwaway schema."""
    if not services.db.is_sqlite:
        async with services.db.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


async def link_users(services: Services, payer_ids: list[str], first_user: int) -> None:
    """Telegram users linked to these payers (as the CSV's telegram_id column would link them)."""
    now = utc_now()
    users = [{"id": first_user + n, "first_name": f"U{n}", "username": None, "locale": "en",
              "locale_chosen": False, "unreachable": False, "created_at": now} for n in range(len(payer_ids))]
    async with services.db.transaction() as session:
        await session.exec(insert(User.__table__), params=users)
        await link_payers(session, links=[(p, first_user + n) for n, p in enumerate(payer_ids)],
                          source="records", now=now)


async def post(http: aiohttp.ClientSession, url: str, body: bytes) -> dict:
    """One signed request, like a payment platform's relay signs it; the feed's answer."""
    stamp = int(time.time())
    headers = {"Content-Type": "application/json", "X-Refund-Timestamp": str(stamp),
               "X-Refund-Signature": sign(SECRET, stamp, body)}
    async with http.post(url, data=body, headers=headers) as response:
        answer = await response.json()
        if response.status != 200:
            raise RuntimeError(f"the feed answered {response.status}: {answer}")
        return answer


async def serve(services: Services, monitor: bool) -> web.AppRunner:
    """The bot's HTTP app on a free port, with the settings' ChargeWatch or none."""
    watch = services.charge_watch() if monitor else None
    app = refund_status_app(services.db, services.refund_policy(), SECRET, services.clock, watch=watch,
                            zone=services.settings.zone)
    return await serve_http(app, "127.0.0.1", 0)


async def throughput(folder: Path, arguments: argparse.Namespace, monitor: bool) -> Run:
    """Send every planned request from the clients at once; the wall time they all took."""
    plans = planned_requests(arguments.events, arguments.clients, arguments.batch, arguments.singles)
    services = await fresh_services(folder, arguments.postgres)
    await link_users(services, [f"payer-{n}" for n in range(0, PAYERS, 2)], FIRST_USER)
    runner = await serve(services, monitor)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/payments"
    run = Run(events=sum(len(json.loads(b).get("events", [None])) for plan in plans for b in plan))

    async def client(http: aiohttp.ClientSession, plan: list[bytes]) -> None:
        for body in plan:
            started = time.perf_counter()
            answer = await post(http, url, body)
            elapsed = (time.perf_counter() - started) * 1000
            (run.batch_ms if len(answer["events"]) > 1 else run.single_ms).append(elapsed)
            run.stored += answer["stored"]
            run.duplicates += answer["duplicates"]

    try:
        connector = aiohttp.TCPConnector(limit=arguments.clients)
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.perf_counter()
            await asyncio.gather(*(client(http, plan) for plan in plans))
            run.seconds = time.perf_counter() - started
        async with services.db.engine.connect() as connection:
            run.suspected, run.outbox = [
                (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("suspected_duplicates", "outbox")
            ]
    finally:
        await runner.cleanup()
        await drop_schema(services)
        await services.close()
    return run


def percentile(samples: list[float], share: float) -> float:
    """The share-th sample of the sorted list (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)] if ordered else float("nan")


def describe(name: str, run: Run) -> None:
    """One run's figures."""
    print(f"monitor {name}: {run.events:,} events in {run.seconds:.2f} s = {run.rate:,.0f} events/s "
          f"(stored {run.stored:,}, repeated deliveries {run.duplicates:,})")
    print(f"    the monitor recorded {run.suspected:,} suspected duplicates, {run.outbox:,} outbox messages")
    print(f"    batch request: median {statistics.median(run.batch_ms):.1f} ms, "
          f"p95 {percentile(run.batch_ms, 0.95):.1f} ms ({len(run.batch_ms):,} requests)")
    if run.single_ms:
        print(f"    single event: median {statistics.median(run.single_ms):.1f} ms, "
              f"p95 {percentile(run.single_ms, 0.95):.1f} ms ({len(run.single_ms):,} requests)")


async def alert_row_written(services: Services, chat_id: int, started: float) -> float | None:
    """Seconds from `started` until the outbox holds a row for `chat_id`, or None after the timeout."""
    query = text("SELECT 1 FROM outbox WHERE chat_id = :chat LIMIT 1")
    while time.perf_counter() - started < ALERT_TIMEOUT:
        async with services.db.engine.connect() as connection:  # outside the SQLite writer queue
            if (await connection.execute(query, {"chat": chat_id})).first() is not None:
                return time.perf_counter() - started
        await asyncio.sleep(0.002)
    return None


async def alert_latency(folder: Path, arguments: argparse.Namespace) -> None:
    """Duplicate pairs among a steady background of events; time to the payer's alert row."""
    services = await fresh_services(folder, arguments.postgres)
    pair_users = 700_000
    await link_users(services, [f"dup-payer-{k}" for k in range(arguments.pairs)], pair_users)
    runner = await serve(services, monitor=True)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/payments"
    rng, recent = random.Random(5), []
    background_sent = 0
    stop = asyncio.Event()

    async def background(http: aiohttp.ClientSession) -> None:
        """Requests of --background-batch events, spaced to make --rate events/s, at most 32 in flight."""
        nonlocal background_sent
        in_flight = asyncio.Semaphore(32)  # a server that cannot keep up slows the load, not a growing queue
        pending: set[asyncio.Task] = set()
        due, number, size = time.perf_counter(), 0, arguments.background_batch

        async def send(body: bytes) -> None:
            try:
                await post(http, url, body)
            finally:
                in_flight.release()

        while not stop.is_set():
            events = [charge(rng, 500_000_000 + number + k, recent) | {"payer_id": f"bg-payer-{number + k}"}
                      for k in range(size)]  # each its own payer: never a duplicate of anything
            number += size
            body = json.dumps(events[0] if size == 1 else {"events": events}).encode()
            await in_flight.acquire()
            task = asyncio.create_task(send(body))
            pending.add(task)
            task.add_done_callback(pending.discard)
            background_sent += size
            due += size / arguments.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.gather(*pending)

    latencies: list[float] = []
    post_ms: list[float] = []
    missed = 0
    try:
        async with aiohttp.ClientSession() as http:
            load = asyncio.create_task(background(http))
            started_load = time.perf_counter()
            await asyncio.sleep(1.0)
            for k in range(arguments.pairs):
                first_at = utc_now().replace(microsecond=0) - timedelta(seconds=30)
                pair = [{"type": "charge.succeeded", "transaction_id": f"dup-{k}-{n}",
                         "order_id": f"dup-ord-{k}", "payer_id": f"dup-payer-{k}", "amount": "88.00",
                         "currency": "CNY", "created_at": (first_at + timedelta(seconds=20 * n)).isoformat()}
                        for n in (0, 1)]
                await post(http, url, json.dumps(pair[0]).encode())
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                await post(http, url, json.dumps(pair[1]).encode())
                post_ms.append((time.perf_counter() - started) * 1000)
                seen = await alert_row_written(services, pair_users + k, started)
                if seen is None:
                    missed += 1
                else:
                    latencies.append(seen * 1000)
                await asyncio.sleep(0.5)
            stop.set()
            await load
            load_seconds = time.perf_counter() - started_load
    finally:
        await runner.cleanup()
        await drop_schema(services)
        await services.close()
    print(f"background: {background_sent:,} events in requests of {arguments.background_batch} over "
          f"{load_seconds:.1f} s = {background_sent / load_seconds:.0f} events/s "
          f"(asked: {arguments.rate:g}/s)")
    print(f"posting the second charge of a pair: median {statistics.median(post_ms):.1f} ms, "
          f"p95 {percentile(post_ms, 0.95):.1f} ms")
    print(f"duplicate pairs: {arguments.pairs}; payer alerts seen in the outbox: {len(latencies)}; "
          f"none within {ALERT_TIMEOUT:g} s: {missed}")
    if latencies:
        print(f"second charge posted -> alert row in the outbox: "
              f"median {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
              f"max {max(latencies):.1f} ms")
    else:
        print("no alert row was written: is the duplicate monitor (handlers/monitor) in place and on?")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000, help="events in all, shared by the clients")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--batch", type=int, default=100, help="events per batch request")
    parser.add_argument("--singles", type=int, default=20, help="single-event requests after each batch")
    parser.add_argument("--postgres", action="store_true", help="use the machine's PostgreSQL")
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs, alternated")
    parser.add_argument("--alert-latency", action="store_true", help="measure the payer alert's delay")
    parser.add_argument("--rate", type=float, default=100, help="alert latency: background events/s")
    parser.add_argument("--pairs", type=int, default=20, help="alert latency: duplicate pairs")
    parser.add_argument("--background-batch", type=int, default=1,
                        help="alert latency: events per background request (1: single events)")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    print(f"database: {'PostgreSQL' if arguments.postgres else 'SQLite'}")
    try:
        if arguments.alert_latency:
            await alert_latency(folder, arguments)
            return
        print(f"{arguments.events:,} events from {arguments.clients} clients: batches of {arguments.batch}, "
              f"{arguments.singles} single-event requests after each", flush=True)
        ratios = []
        for number in range(1, arguments.rounds + 1):  # alternated: this machine's speed drifts
            print(f"round {number} of {arguments.rounds}")
            off = await throughput(folder, arguments, monitor=False)
            describe("off (no ChargeWatch)", off)
            on = await throughput(folder, arguments, monitor=True)
            describe("on (ChargeWatch)", on)
            ratios.append(on.rate / off.rate)
            print(f"on / off: {ratios[-1]:.2f}", flush=True)
        print(f"on / off over {len(ratios)} rounds: median {statistics.median(ratios):.2f}, "
              f"min {min(ratios):.2f}, max {max(ratios):.2f} (aim: >= 0.7)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
