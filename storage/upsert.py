"""INSERT … ON CONFLICT for both dialects, so idempotent writes read the same everywhere."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a table model maps to (SQLModel's typing does not declare `__table__`)."""
    table: Table = inspect(model).local_table
    return table


def insert_statement(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect, so that ON CONFLICT clauses can be added."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


async def insert_ignoring_conflicts(
    session: AsyncSession, *, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """Insert rows, skipping those whose keys exist; return how many were inserted."""
    if not rows:
        return 0
    statement = insert_statement(session, table).on_conflict_do_nothing(index_elements=list(keys))
    result = await session.exec(statement, params=list(rows))
    return max(result.rowcount, 0)


async def insert_or_update(
    session: AsyncSession, *, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, overwriting the other columns of those whose keys exist."""
    if not rows:
        return
    statement = insert_statement(session, table)
    updated = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    await session.exec(
        statement.on_conflict_do_update(index_elements=list(keys), set_=updated), params=list(rows)
    )
