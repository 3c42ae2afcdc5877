"""The merchant's charges, as imported."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Transaction
from storage.upsert import insert_or_update


async def charges_of_order(session: AsyncSession, *, order_id: str) -> list[Transaction]:
    """Every charge recorded for an order, oldest first."""
    query = (
        select(Transaction)
        .where(Transaction.order_id == order_id)
        .order_by(Transaction.created_at, Transaction.transaction_id)
    )
    return list((await session.exec(query)).all())


async def save_transactions(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Insert charges, updating those already known by transaction_id (idempotent import)."""
    await insert_or_update(
        session, table=Transaction.__table__, rows=rows, keys=["transaction_id"]
    )
