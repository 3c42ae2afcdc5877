"""A payer's charges across orders: what the monitor and cross-order matching look at."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Transaction
from storage.upsert import table_of

_TABLE = table_of(Transaction)
CHUNK = 500  # ids per IN (…): well under every driver's parameter limit


async def charges_of_payers(
    session: AsyncSession, *, payer_ids: Iterable[str], since: datetime, until: datetime,
    amount_minor: int | None = None, currency: str | None = None,
) -> list[Transaction]:
    """The charges of these payers made in [since, until] (of one amount, if given), oldest first."""
    wanted = sorted({p for p in payer_ids if p})
    found: list[Transaction] = []
    connection = await session.connection()
    for start in range(0, len(wanted), CHUNK):
        query = select(_TABLE).where(
            _TABLE.c.payer_id.in_(wanted[start:start + CHUNK]),
            _TABLE.c.created_at >= since,
            _TABLE.c.created_at <= until,
        )
        if amount_minor is not None:
            query = query.where(_TABLE.c.amount_minor == amount_minor, _TABLE.c.currency == currency)
        rows = (await connection.execute(query)).mappings()
        found.extend(Transaction.model_construct(**row) for row in rows)
    return sorted(found, key=lambda c: (c.created_at, c.transaction_id))

