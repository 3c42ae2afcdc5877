"""Alembic, driven from code: the database is migrated before the bot starts."""

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config() -> Config:
    """The Alembic configuration of this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    return config


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _run(engine: AsyncEngine, action: Callable[..., object], *args: object) -> None:
    def with_connection(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, *args)

    async with engine.begin() as connection:
        await connection.run_sync(with_connection)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database up to a revision."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database down to a revision ("base" empties it)."""
    await _run(engine, command.downgrade, revision)


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Write a new revision from the difference between the models and the database."""
    await _run(engine, command.revision, message, True)
