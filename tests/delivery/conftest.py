"""Several delivery workers on one PostgreSQL, sharing a rate gate in the machine's Redis."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot
from redis.asyncio import Redis

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.rate_redis import RedisGate
from storage.database import Database, create_engine
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import POSTGRES_URL, emptied_postgres
from tests.sandbox.helpers import sandbox_session

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TOKEN = "616161:instances-token"
RATE, PER_CHAT = 25, 1.1


@pytest.fixture
async def instances() -> AsyncIterator[list[Database]]:
    """Three connections to one emptied PostgreSQL schema, one per pretend instance."""
    pg = await emptied_postgres()
    databases = [Database(create_engine(POSTGRES_URL, **pg.engine_options())) for _ in range(3)]
    yield databases
    for database in databases:
        await database.dispose()


@pytest.fixture
async def gates() -> AsyncIterator[Callable[[], RedisGate]]:
    """Makes RedisGates of one bot (a fresh key prefix per test), as each instance would."""
    prefix = f"test-rate:{uuid.uuid4().hex}"
    made: list[RedisGate] = []

    def make() -> RedisGate:
        gate = RedisGate(REDIS_URL, rate_per_second=RATE, per_chat_interval=PER_CHAT, prefix=prefix)
        made.append(gate)
        return gate

    yield make
    for gate in made:
        await gate.close()
    async with Redis.from_url(REDIS_URL) as redis:
        keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)


@contextlib.asynccontextmanager
async def messenger(sandbox: TelegramSandbox) -> AsyncIterator[AiogramMessenger]:
    """A messenger of its own, as another process would have."""
    bot = Bot(TOKEN, session=sandbox_session(sandbox.url))
    async with bot.session:
        yield AiogramMessenger(bot)
