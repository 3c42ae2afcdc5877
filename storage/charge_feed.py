"""Charges as the live payment feed writes them: read under lock, added, moved on."""

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Transaction
from storage.upsert import table_of

_TABLE = table_of(Transaction)
CHUNK = 500  # ids per IN (…): well under every driver's parameter limit
_MOVE = (
    update(_TABLE)
    .where(_TABLE.c.transaction_id == bindparam("key"))
    .values(status=bindparam("new_status"), payer_id=bindparam("new_payer_id"),
            method=bindparam("new_method"))
)


async def lock_charges(session: AsyncSession, *, transaction_ids: Iterable[str]) -> dict[str, Transaction]:
    """The known charges among these ids, locked until the transaction ends (SQLite has one writer anyway)."""
    wanted = sorted(set(transaction_ids))  # locked in key order: concurrent requests queue, never deadlock
    found: dict[str, Transaction] = {}
    connection = await session.connection()
    for start in range(0, len(wanted), CHUNK):
        query = (
            select(_TABLE)
            .where(_TABLE.c.transaction_id.in_(wanted[start:start + CHUNK]))
            .order_by(_TABLE.c.transaction_id)
            .with_for_update()
        )
        for row in (await connection.execute(query)).mappings():
            found[row["transaction_id"]] = Transaction.model_construct(**row)
    return found


async def add_charges(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new charges; one that appeared meanwhile raises IntegrityError (the caller starts over)."""
    if rows:
        connection = await session.connection()
        await connection.execute(insert(_TABLE), list(rows))


async def move_charges(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Write the new status, payer id and method of known charges (locked by `lock_charges`)."""
    if rows:
        connection = await session.connection()
        params = [
            {"key": row["transaction_id"], "new_status": row["status"], "new_payer_id": row["payer_id"],
             "new_method": row["method"]}
            for row in rows
        ]
        await connection.execute(_MOVE, params)


# Payers share PAYER_LOCKS advisory locks (an import of 100k payers must not fill PostgreSQL's lock table);
# two payers in one bucket only wait for each other. A function scan of unnest yields the array in order,
# so every transaction takes its (sorted) buckets alike and none deadlock.
PAYER_LOCKS = 256
_PAYER_LOCK_SPACE = 0x70617972  # the first key of the two-key form: these locks and no others
_LOCK_PAYERS = text(
    "SELECT pg_advisory_xact_lock(:space, bucket) FROM unnest(CAST(:buckets AS integer[])) AS bucket"
)


def payer_lock_bucket(payer_id: str) -> int:
    """Which of the PAYER_LOCKS advisory locks guards a payer's arrivals."""
    digest = hashlib.sha256(payer_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % PAYER_LOCKS


async def lock_payers(session: AsyncSession, *, payer_ids: Iterable[str]) -> None:
    """Hold these payers' arrivals until the transaction ends: concurrent requests see each other's charges.

    PostgreSQL: transaction-scoped advisory locks; SQLite has one writer anyway.
    """
    buckets = sorted({payer_lock_bucket(payer_id) for payer_id in payer_ids if payer_id})
    if not buckets or session.bind is None or session.bind.dialect.name != "postgresql":
        return
    connection = await session.connection()
    await connection.execute(_LOCK_PAYERS, {"space": _PAYER_LOCK_SPACE, "buckets": buckets})
