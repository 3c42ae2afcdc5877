"""Shared fixtures: real databases (a SQLite file and the machine's PostgreSQL), and the Telegram sandbox.

Migrating is the slow part, so it happens once per test process: a migrated SQLite file is copied for
each test, and one migrated PostgreSQL schema is emptied (TRUNCATE … RESTART IDENTITY) before each test.
The Alembic stairway tests still migrate fresh databases of their own.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from storage import schema
from storage.database import Database, create_engine
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _asyncpg_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


class _Migrated:
    """What this test process migrated once: a SQLite file to copy and a PostgreSQL schema to empty."""

    folder: Path | None = None
    sqlite_file: Path | None = None
    postgres: "PostgresSchema | None" = None
    postgres_tables: tuple[str, ...] = ()


async def migrated_sqlite_file(path: Path) -> Path:
    """Write a migrated SQLite database at `path` (a copy of the one migrated once per test process)."""
    if _Migrated.sqlite_file is None:
        _Migrated.folder = _Migrated.folder or Path(tempfile.mkdtemp(prefix="refund-tests-"))
        template = _Migrated.folder / "migrated.sqlite3"
        database = Database.connect(f"sqlite+aiosqlite:///{template}")
        await schema.upgrade(database.engine)
        await database.dispose()  # the last connection checkpoints the WAL into the file
        _Migrated.sqlite_file = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_Migrated.sqlite_file, path)
    return path


async def make_sqlite(tmp_path) -> Database:
    """A fresh, migrated SQLite file."""
    path = await migrated_sqlite_file(tmp_path / "test.sqlite3")
    return Database.connect(f"sqlite+aiosqlite:///{path}")


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


async def emptied_postgres() -> PostgresSchema:
    """The schema migrated once per test process, with every table emptied and every id restarted."""
    if _Migrated.postgres is None:
        pg = PostgresSchema()
        await pg.create()
        _Migrated.postgres = pg
        database = Database(create_engine(POSTGRES_URL, **pg.engine_options()))
        await schema.upgrade(database.engine)
        await database.dispose()
    pg = _Migrated.postgres
    connection = await asyncpg.connect(_asyncpg_dsn())
    try:
        if not _Migrated.postgres_tables:
            rows = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'alembic_version'",
                pg.name,
            )
            _Migrated.postgres_tables = tuple(sorted(row["tablename"] for row in rows))
        tables = ", ".join(f'"{pg.name}"."{table}"' for table in _Migrated.postgres_tables)
        await connection.execute("SET lock_timeout = '10s'")  # a connection a test left open fails loudly
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    return pg


@pytest.fixture(scope="session", autouse=True)
def _drop_what_was_migrated_once() -> Iterator[None]:
    """At the end of the run, drop the shared PostgreSQL schema and the SQLite template."""
    yield
    if _Migrated.postgres is not None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_Migrated.postgres.drop())
        finally:
            loop.close()
    if _Migrated.folder is not None:
        shutil.rmtree(_Migrated.folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path) -> AsyncIterator[Database]:
    """A migrated database of each kind, with no rows in it."""
    if request.param == "sqlite":
        database = await make_sqlite(tmp_path)
        yield database
        await database.dispose()
        return
    pg = await emptied_postgres()
    database = Database(create_engine(POSTGRES_URL, **pg.engine_options()))
    yield database
    await database.dispose()


SANDBOX_TOKEN = "424242:sandbox-secret-token"


@pytest.fixture
def sandbox_token() -> str:
    """The bot token the sandbox accepts (a module overrides this fixture for a token of its own)."""
    return SANDBOX_TOKEN


@pytest.fixture
async def sandbox(sandbox_token: str) -> AsyncIterator[TelegramSandbox]:
    """The project's local Bot API, serving on a free port."""
    server = TelegramSandbox(token=sandbox_token)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(sandbox: TelegramSandbox) -> AsyncIterator[SandboxClient]:
    """The people's side of the sandbox."""
    async with SandboxClient(sandbox.url) as sandbox_client:
        yield sandbox_client
