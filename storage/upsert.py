"""INSERT … ON CONFLICT for both dialects, so idempotent writes read the same everywhere."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def _insert(session: AsyncSession, table):
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def insert_ignoring_conflicts(
    session: AsyncSession, *, table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """Insert rows, skipping those whose keys exist; return how many were inserted."""
    if not rows:
        return 0
    statement = _insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
    result = await session.exec(statement, params=list(rows))
    return max(result.rowcount, 0)


async def insert_or_update(
    session: AsyncSession, *, table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, overwriting the other columns of those whose keys exist."""
    if not rows:
        return
    statement = _insert(session, table)
    updated = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    await session.exec(
        statement.on_conflict_do_update(index_elements=list(keys), set_=updated), params=list(rows)
    )
