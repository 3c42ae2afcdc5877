"""Matching lookup on 1,000,000 imported transactions vs a raw indexed query on the same table.

Run: .venv/bin/python -m benchmarks.matching_lookup [--rows 1000000] [--lookups 5000] [--postgres]
Prints medians and p99 of: the bot's lookup (storage.transactions.charges_of_order through SQLModel),
the same SQL sent raw through the same driver, and the floor (sqlite3 straight from C, SQLite only).
"""

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from storage import schema
from storage.database import Database
from storage.transactions import charges_of_order, save_transactions

RAW_SQL = ("SELECT transaction_id, order_id, payer_id, amount_minor, currency, status, created_at "
           "FROM transactions WHERE order_id = :order_id ORDER BY created_at, transaction_id")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def order_of(n: int) -> str:
    return f"ORD{n:08d}"


def make_rows(count: int, seed: int = 7):
    """About 1.1 charges per order; one order in ten was charged twice."""
    rng = random.Random(seed)
    order, rows = 0, []
    while len(rows) < count:
        order += 1
        for _ in range(2 if rng.random() < 0.1 else 1):
            rows.append({
                "transaction_id": f"tx{len(rows):09d}", "order_id": order_of(order),
                "payer_id": f"payer{rng.randrange(200_000)}", "amount_minor": rng.randrange(100, 99_999),
                "currency": "CNY", "status": "succeeded", "created_at": T0 + timedelta(seconds=len(rows)),
            })
    return rows[:count], order


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and p99 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def fill(db: Database, rows: list[dict]) -> float:
    started = time.perf_counter()
    async with db.transaction() as session:
        for start in range(0, len(rows), 5000):
            await save_transactions(session, rows=rows[start:start + 5000])
    return time.perf_counter() - started


async def time_bot_lookup(db: Database, orders: list[str]) -> list[float]:
    samples = []
    async with db.transaction() as session:
        for order_id in orders:
            started = time.perf_counter()
            charges = await charges_of_order(session, order_id=order_id)
            samples.append(time.perf_counter() - started)
            assert charges, order_id
    return samples


async def time_raw_lookup(db: Database, orders: list[str]) -> list[float]:
    samples = []
    async with db.engine.connect() as connection:
        for order_id in orders:
            started = time.perf_counter()
            rows = (await connection.execute(text(RAW_SQL), {"order_id": order_id})).all()
            samples.append(time.perf_counter() - started)
            assert rows, order_id
    return samples


def time_sqlite_floor(path: Path, orders: list[str]) -> list[float]:
    connection = sqlite3.connect(path)
    query = RAW_SQL.replace(":order_id", "?")
    samples = []
    for order_id in orders:
        started = time.perf_counter()
        rows = connection.execute(query, (order_id,)).fetchall()
        samples.append(time.perf_counter() - started)
        assert rows, order_id
    connection.close()
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--postgres", action="store_true", help="use the machine's PostgreSQL")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-matching-"))
    if arguments.postgres:
        url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        db = Database.connect(url, connect_args={"server_settings": {"search_path": "bench_matching"}})
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS bench_matching CASCADE"))
            await connection.execute(text("CREATE SCHEMA bench_matching"))
    else:
        path = folder / "bench.sqlite3"
        db = Database.connect(f"sqlite+aiosqlite:///{path}")
    await schema.upgrade(db.engine)
    rows, orders_total = make_rows(arguments.rows)
    print(f"importing {len(rows):,} transactions …", flush=True)
    seconds = await fill(db, rows)
    print(f"import: {seconds:.1f} s ({len(rows) / seconds:,.0f} rows/s)")
    rng = random.Random(11)
    orders = [order_of(rng.randrange(1, orders_total)) for _ in range(arguments.lookups)]
    await time_bot_lookup(db, orders[:200])  # warm caches and statement cache
    await time_raw_lookup(db, orders[:200])
    bot = summary(await time_bot_lookup(db, orders))
    raw = summary(await time_raw_lookup(db, orders))
    print(f"bot lookup (charges_of_order): median {bot[0]:.3f} ms, p99 {bot[1]:.3f} ms")
    print(f"raw SQL, same driver:           median {raw[0]:.3f} ms, p99 {raw[1]:.3f} ms")
    print(f"ratio bot/raw (median):         {bot[0] / raw[0]:.2f}x")
    if not arguments.postgres:
        floor = summary(time_sqlite_floor(path, orders))
        print(f"floor, sqlite3 from C:          median {floor[0]:.3f} ms, p99 {floor[1]:.3f} ms")
    else:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS bench_matching CASCADE"))
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
