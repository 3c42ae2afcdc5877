"""Shared fixtures: real databases (a SQLite file and the machine's PostgreSQL)."""

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage import schema
from storage.database import Database, create_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _asyncpg_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def make_sqlite(tmp_path) -> Database:
    """A fresh, migrated SQLite file."""
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
    await schema.upgrade(database.engine)
    return database


class PostgresSchema:
    """A throwaway schema in the test database, so runs never see each other's rows."""

    def __init__(self) -> None:
        self.name = f"t_{uuid.uuid4().hex[:12]}"

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn())
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create(self) -> None:
        await self._execute(f'CREATE SCHEMA "{self.name}"')

    async def drop(self) -> None:
        await self._execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def engine_options(self) -> dict:
        return {"connect_args": {"server_settings": {"search_path": self.name}}}


@pytest.fixture
async def postgres_schema() -> AsyncIterator[PostgresSchema]:
    """An empty schema on the machine's PostgreSQL, dropped afterwards."""
    pg = PostgresSchema()
    await pg.create()
    yield pg
    await pg.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path) -> AsyncIterator[Database]:
    """A migrated database of each kind."""
    if request.param == "sqlite":
        database = await make_sqlite(tmp_path)
        yield database
        await database.dispose()
        return
    pg = PostgresSchema()
    await pg.create()
    database = Database(create_engine(POSTGRES_URL, **pg.engine_options()))
    await schema.upgrade(database.engine)
    yield database
    await database.dispose()
    await pg.drop()
