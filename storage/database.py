"""The engine, sessions and the one-writer rule for SQLite."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

Row = TypeVar("Row")


async def first(session: AsyncSession, query: SelectOfScalar[Row], *, lock: bool = False) -> Row | None:
    """The first row of a query, locked for this transaction when asked (FOR UPDATE; SQLite ignores it)."""
    if lock:
        # A row read earlier in this session would otherwise keep its stale values under the lock.
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.exec(query)).first()


class Database:
    """An engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite allows one writer; queueing here beats "database is locked" under load.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def connect(cls, url: str, **engine_options: Any) -> "Database":
        """Open a database by URL (sqlite+aiosqlite:///… or postgresql+asyncpg://…)."""
        return cls(create_engine(url, **engine_options))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session, committed once at the end, rolled back on any error."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def create_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """Build an async engine; for SQLite create the folder and turn on WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine_options.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **engine_options)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **engine_options)


def _tune_sqlite(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
