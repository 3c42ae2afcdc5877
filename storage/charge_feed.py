"""Charges as the live payment feed writes them: read under lock, added, moved on."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
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
