"""Fixtures: a sandbox on a free port, a user-side client and an aiogram bot pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from telegram_sandbox import RateLimits, SandboxClient, TelegramSandbox
from tests.sandbox.helpers import BOT_USERNAME, TOKEN, USER_ID, FakeClock, aiogram_bot


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    running = TelegramSandbox(token=TOKEN, bot_username=BOT_USERNAME)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def limited_sandbox(clock: FakeClock) -> AsyncIterator[TelegramSandbox]:
    running = TelegramSandbox(token=TOKEN, bot_username=BOT_USERNAME, rate_limits=RateLimits(), clock=clock)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def client(sandbox: TelegramSandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as sandbox_client:
        yield sandbox_client


@pytest.fixture
async def bot(sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    telegram_bot = aiogram_bot(sandbox.url)
    yield telegram_bot
    await telegram_bot.session.close()


@pytest.fixture
async def user(client: SandboxClient) -> int:
    await client.create_user(USER_ID, first_name="Payer", username="payer")
    return USER_ID
