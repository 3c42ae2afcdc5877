"""The due-update sweep: 10,000 due tickets among 1,000,000 pending ones, vs the same 10,000 among 20,000.

Run: .venv/bin/python -m benchmarks.sweep_due_updates [--tickets 1000000] [--due 10000] [--small 20000]
     [--batch 200] [--users 10000] [--postgres [--no-analyze]]
For each table size (the large one, then the small one) it bulk-loads pending tickets with their ledger
refunds, prints the plan of the claim query (storage.refunds.claim_due_updates), runs the real sweep
(handlers.refunds.follow_ups.FollowUps.update_batch until a batch comes back short) and prints: fill time,
batches run, per-batch median and p95 ms, per-due-ticket ms, total sweep time, outbox rows written (one status
update per due ticket), due tickets left afterwards (0) and the time of one claim on the now empty due
set. Last, the ratio of the per-ticket costs: near 1 when the cost follows the due count, not the table.
On PostgreSQL the load is followed by ANALYZE and CHECKPOINT (what autovacuum and time would do), and the
blocks the sweep read into shared_buffers are printed; --no-analyze skips both, to show the plan a table
that was never analyzed gets (this machine runs PostgreSQL with autovacuum off).
"""

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, select, text

from bot.providers.ledger import LedgerProvider
from handlers.delivery.notices import Notifier
from handlers.durations import Eta, parse_intervals
from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.texts import Texts
from storage import schema
from storage.database import Database
from storage.models import OutboxMessage, Refund, Ticket, TicketStatus, User
from storage.refunds import claim_due_updates

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CHUNK = 10_000
CHUNKS_PER_TRANSACTION = 10
SCHEMA = "bench_sweep"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
EMPTY_CLAIMS = 200


def fixed_clock() -> datetime:
    """The sweep's clock: always NOW, after every due ticket's time."""
    return NOW


def make_policy() -> RefundPolicy:
    """The policy of tests/lifecycle/conftest.py, with the bot's default intervals and no quiet hours."""
    schedule = UpdateSchedule(parse_intervals("1d,2d,4d,7d"), None, ZoneInfo("UTC"), timedelta(days=2))
    return RefundPolicy(LedgerProvider(), schedule, Eta.parse("10bd"), Notifier(Texts.load(), None, "en"))


def next_update_of(n: int, step: int, due: int) -> datetime:
    """Every step-th ticket (the first `due` of them) is overdue by an hour or more; the rest wait a week."""
    if n % step == 0 and n // step < due:
        return NOW - timedelta(hours=1, seconds=n // step)
    return NOW + timedelta(hours=1, seconds=n % (7 * 86_400))


def ticket_row(n: int, user_id: int, next_update_at: datetime) -> dict:
    """One pending ticket, as the refund flow leaves it."""
    reference = f"RF-{n:08d}"
    return {
        "id": n + 1, "reference": reference, "user_id": user_id, "order_id": f"ORD{n:08d}",
        "amount_minor": 9900, "currency": "CNY", "status": TicketStatus.REFUND_PENDING, "chat_id": user_id,
        "locale": "en", "paid_at": NOW - timedelta(days=3), "paid_on_day_only": False,
        "evidence_sha256": None, "report_key": reference, "open_order_key": None,
        "next_update_at": next_update_at, "updates_sent": 0, "expected_landing_at": NOW + timedelta(days=10),
        "escalated_at": None, "receipt": None, "rating": None, "created_at": NOW - timedelta(days=3),
        "updated_at": NOW - timedelta(days=3),
    }


def refund_row(n: int) -> dict:
    """The ticket's ledger refund, pending, with no automatic settlement."""
    return {
        "id": n + 1, "ticket_id": n + 1, "reference": f"RF-{n:08d}", "transaction_id": f"tx{n:09d}",
        "amount_minor": 9900, "currency": "CNY", "provider": "ledger", "status": "pending",
        "failure_reason": None, "bank_reference": None, "settle_at": None, "landed_at": None,
        "created_at": NOW - timedelta(days=3), "updated_at": NOW - timedelta(days=3),
    }


def chunk_rows(start: int, stop: int, tickets: int, due: int, users: int) -> tuple[list[dict], list[dict]]:
    """Tickets start..stop-1 and their refunds."""
    step = max(1, tickets // due)
    ticket_rows = [ticket_row(n, n % users + 1, next_update_of(n, step, due)) for n in range(start, stop)]
    return ticket_rows, [refund_row(n) for n in range(start, stop)]


async def fill(db: Database, tickets: int, due: int, users: int) -> float:
    """Bulk-insert users, tickets and refunds with Core inserts; return the seconds it took."""
    started = time.perf_counter()
    user_rows = [{"id": u + 1, "first_name": f"U{u}", "username": None, "locale": "en",
                  "locale_chosen": False, "unreachable": False, "created_at": NOW} for u in range(users)]
    async with db.engine.begin() as connection:
        await connection.execute(insert(User.__table__), user_rows)
    for first in range(0, tickets, CHUNK * CHUNKS_PER_TRANSACTION):
        async with db.engine.begin() as connection:
            last = min(tickets, first + CHUNK * CHUNKS_PER_TRANSACTION)
            for start in range(first, last, CHUNK):
                ticket_rows, refund_rows = chunk_rows(start, min(last, start + CHUNK), tickets, due, users)
                await connection.execute(insert(Ticket.__table__), ticket_rows)
                await connection.execute(insert(Refund.__table__), refund_rows)
    return time.perf_counter() - started


async def claim_sql(db: Database, batch: int) -> tuple[str, object]:
    """The SQL and parameters that claim_due_updates sends, caught on the way to the driver."""
    caught = []

    def catch(_connection, _cursor, statement, parameters, _context, _executemany) -> None:
        caught.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", catch)
    try:
        async with db.transaction() as session:
            await claim_due_updates(session, now=NOW, limit=batch)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", catch)
    return next((s, p) for s, p in caught if "FROM tickets" in s)


async def explain_claim(db: Database, batch: int) -> list[str]:
    """The plan of the claim query (PostgreSQL: EXPLAIN ANALYZE, rolled back; SQLite: EXPLAIN QUERY PLAN)."""
    statement, parameters = await claim_sql(db, batch)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    async with db.engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
        await connection.rollback()
    return [row[-1] for row in rows]


async def settle(db: Database, analyze: bool) -> None:
    """PostgreSQL: statistics as autovacuum would leave them, and the fill's WAL checkpointed."""
    if analyze and not db.is_sqlite:
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
            await connection.execute(text("CHECKPOINT"))


async def block_counts(db: Database) -> tuple[int, int]:
    """PostgreSQL: (blocks read into shared buffers, blocks found there) for this schema."""
    if db.is_sqlite:
        return 0, 0
    query = text("SELECT sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0)), "
                 "sum(coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0)) "
                 "FROM pg_statio_user_tables WHERE schemaname = current_schema()")
    await db.dispose()  # backends flush their statistics when they exit
    await asyncio.sleep(1)
    async with db.engine.connect() as connection:
        read, hit = (await connection.execute(query)).one()
    return int(read or 0), int(hit or 0)


async def run_sweep(db: Database, batch: int) -> list[tuple[float, int]]:
    """Run update_batch until it comes back short; (seconds, tickets handled) of each batch."""
    follow_ups = FollowUps(db, make_policy(), fixed_clock, batch=batch)
    batches = []
    while True:
        started = time.perf_counter()
        handled = await follow_ups.update_batch()
        batches.append((time.perf_counter() - started, handled))
        if handled < batch:
            return batches


async def count(db: Database, query) -> int:
    """One scalar count."""
    async with db.engine.connect() as connection:
        return (await connection.execute(query)).scalar_one()


async def time_empty_claim(db: Database) -> tuple[float, float]:
    """Median and first-call ms of one claim when nothing is due, repeated in one session."""
    samples = []
    async with db.transaction() as session:
        for _ in range(EMPTY_CLAIMS):
            started = time.perf_counter()
            claimed = await claim_due_updates(session, now=NOW, limit=200)
            samples.append(time.perf_counter() - started)
            assert not claimed
    return statistics.median(samples) * 1000, samples[0] * 1000


async def open_database(folder: Path, tickets: int, postgres: bool) -> Database:
    """A fresh migrated database: a throwaway schema on PostgreSQL, a new file on SQLite."""
    if not postgres:
        db = Database.connect(f"sqlite+aiosqlite:///{folder / f'sweep-{tickets}.sqlite3'}")
    else:
        db = Database.connect(POSTGRES_URL, connect_args={"server_settings": {"search_path": SCHEMA}})
        async with db.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    await schema.upgrade(db.engine)
    return db


async def close_database(db: Database) -> None:
    """Drop the throwaway schema (PostgreSQL) and close the pool."""
    if not db.is_sqlite:
        async with db.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    await db.dispose()


def percentile(samples: list[float], share: float) -> float:
    """The share-th sample of the sorted list (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


async def measure(folder: Path, tickets: int, arguments: argparse.Namespace) -> dict:
    """Fill, explain, sweep and check one table size; print as it goes and return the figures."""
    db = await open_database(folder, tickets, arguments.postgres)
    try:
        print(f"\n== {tickets:,} pending tickets, {arguments.due:,} due ==", flush=True)
        seconds = await fill(db, tickets, arguments.due, arguments.users)
        print(f"fill: {seconds:.1f} s ({tickets:,} tickets, as many refunds, {arguments.users:,} users)")
        await settle(db, not arguments.no_analyze)
        print("claim query plan:")
        for line in await explain_claim(db, arguments.batch):
            print(f"    {line}")
        blocks_before = await block_counts(db)
        batches = await run_sweep(db, arguments.batch)
        blocks_after = await block_counts(db)
        total = sum(s for s, _ in batches)
        handled = sum(h for _, h in batches)
        full = [s * 1000 for s, h in batches if h]
        print(f"batches run: {len(batches)} ({len(full)} with tickets, then one that came back short); "
              f"tickets handled: {handled:,}")
        print(f"per batch of {arguments.batch}: median {statistics.median(full):.1f} ms, "
              f"p95 {percentile(full, 0.95):.1f} ms")
        per_ticket = total * 1000 / max(handled, 1)
        print(f"per due ticket: {per_ticket:.3f} ms; total sweep: {total:.2f} s")
        if not db.is_sqlite:
            read, hit = (after - before for after, before in zip(blocks_after, blocks_before, strict=True))
            print(f"blocks during the sweep: {read:,} read into shared_buffers, {hit:,} already there "
                  f"({read / max(handled, 1):.2f} reads per due ticket)")
        outbox = await count(db, select(func.count()).select_from(OutboxMessage))
        print(f"outbox rows written: {outbox:,} (due tickets: {arguments.due:,})")
        left = await count(db, select(func.count()).select_from(Ticket).where(Ticket.next_update_at <= NOW))
        print(f"tickets with next_update_at <= NOW after the sweep: {left}")
        empty, first = await time_empty_claim(db)
        print(f"one claim on the empty due set: median {empty:.3f} ms of {EMPTY_CLAIMS} "
              f"(the first: {first:.3f} ms)")
        return {"per_ticket": per_ticket, "empty": empty}
    finally:
        await close_database(db)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=20_000, help="tickets in the comparison table")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="use the machine's PostgreSQL")
    parser.add_argument("--no-analyze", action="store_true", help="PostgreSQL: no ANALYZE after the load")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    settled = "" if not arguments.postgres else (", never analyzed" if arguments.no_analyze else
                                                  ", ANALYZE + CHECKPOINT after the load")
    print(f"database: {'PostgreSQL' if arguments.postgres else 'SQLite'}{settled}; batch {arguments.batch}")
    try:
        large = await measure(folder, arguments.tickets, arguments)
        small = await measure(folder, arguments.small, arguments)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n== cost follows the due count: {arguments.due:,} due in {arguments.tickets:,} vs "
          f"{arguments.small:,} tickets ==")
    print(f"per due ticket: {large['per_ticket']:.3f} ms vs {small['per_ticket']:.3f} ms, "
          f"ratio {large['per_ticket'] / small['per_ticket']:.2f}x")
    print(f"claim on the empty due set: {large['empty']:.3f} ms vs {small['empty']:.3f} ms, "
          f"ratio {large['empty'] / small['empty']:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
