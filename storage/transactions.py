"""The merchant's charges, as imported."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Transaction, TransactionStatus
from storage.upsert import insert_or_update, table_of

_TABLE = table_of(Transaction)
_IDS_PER_QUERY = 1_000  # well under SQLite's and asyncpg's bound-parameter limits
_CHARGES_OF_ORDER = (
    select(_TABLE)
    .where(_TABLE.c.order_id == bindparam("order_id"))
    .order_by(_TABLE.c.created_at, _TABLE.c.transaction_id)
)


async def charges_of_order(session: AsyncSession, *, order_id: str) -> list[Transaction]:
    """Every charge recorded for an order, oldest first (read-only objects)."""
    # The hot path of matching: a Core query skips the ORM's identity map, as fast as raw SQL.
    connection = await session.connection()
    rows = (await connection.execute(_CHARGES_OF_ORDER, {"order_id": order_id})).mappings()
    return [Transaction.model_construct(**row) for row in rows]


async def save_transactions(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Insert charges, updating those already known by transaction_id (idempotent import)."""
    await insert_or_update(
        session, table=_TABLE, rows=rows, keys=["transaction_id"]
    )


def _batches(transaction_ids: Sequence[str]) -> list[list[str]]:
    unique = sorted(set(transaction_ids))
    return [unique[start:start + _IDS_PER_QUERY] for start in range(0, len(unique), _IDS_PER_QUERY)]


async def charges_with_ids(session: AsyncSession, *, transaction_ids: Sequence[str]) -> list[Transaction]:
    """The charges among `transaction_ids` that are recorded (read-only objects)."""
    connection = await session.connection()
    charges: list[Transaction] = []
    for batch in _batches(transaction_ids):
        rows = await connection.execute(select(_TABLE).where(_TABLE.c.transaction_id.in_(batch)))
        charges.extend(Transaction.model_construct(**row) for row in rows.mappings())
    return charges


async def refunded_among(session: AsyncSession, *, transaction_ids: Sequence[str]) -> set[str]:
    """Those of `transaction_ids` recorded as refunded."""
    connection = await session.connection()
    refunded: set[str] = set()
    for batch in _batches(transaction_ids):
        query = select(_TABLE.c.transaction_id).where(
            _TABLE.c.transaction_id.in_(batch), _TABLE.c.status == TransactionStatus.REFUNDED.value
        )
        refunded.update((await connection.execute(query)).scalars())
    return refunded


async def mark_refunded(session: AsyncSession, *, transaction_ids: Sequence[str]) -> None:
    """Record these charges as refunded in full."""
    connection = await session.connection()
    for batch in _batches(transaction_ids):
        await connection.execute(
            update(_TABLE).where(_TABLE.c.transaction_id.in_(batch)).values(status=TransactionStatus.REFUNDED.value)
        )
