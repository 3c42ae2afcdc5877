"""The merchant's charges, as imported."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Transaction
from storage.upsert import insert_or_update, table_of

_TABLE = table_of(Transaction)
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
