"""Injected faults, blocked users and Telegram's flood limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile

from telegram_sandbox import SandboxClient, TelegramSandbox
from tests.sandbox.helpers import GROUP_ID, TOKEN, USER_ID, FakeClock, aiogram_bot


async def test_injected_429_surfaces_retry_after(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.inject_fault("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(user, "hi")
    assert raised.value.retry_after == 7
    assert "Original description: Too Many Requests: retry after 7" in raised.value.message
    assert (await bot.send_message(user, "hi")).text == "hi"  # the fault was used up


async def test_injected_403_and_500(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.inject_fault("*", error_code=403)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(user, "hi")
    await client.inject_fault("editMessageText", error_code=500, count=2)
    sent = await bot.send_message(user, "v1")
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.edit_message_text("v2", chat_id=user, message_id=sent.message_id)
    edited = await bot.edit_message_text("v2", chat_id=user, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "v2"
    stats = await client.stats()
    assert stats["faults"] == 3 and stats["errors"] == {"403": 1, "500": 2}


async def test_faults_match_method_and_chat(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.create_user(USER_ID + 1)
    await client.inject_fault("*", error_code=400, description="Bad Request: custom", chat_id=user)
    assert (await bot.get_me()).is_bot  # "*" covers only send/edit methods
    assert (await bot.send_message(USER_ID + 1, "other chat")).text == "other chat"
    with pytest.raises(TelegramBadRequest, match="Bad Request: custom"):
        await bot.send_message(user, "this chat")
    await client.inject_fault("getMe", error_code=502)
    with pytest.raises(TelegramServerError):
        await bot.get_me()


async def test_injected_download_faults_fail_the_file_url(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_document(user, BufferedInputFile(b"%PDF-1.4 test", "receipt.pdf"))
    await client.inject_fault("download", error_code=404)
    await client.inject_fault("download", error_code=500)
    assert (await bot.get_file(sent.document.file_id)).file_path  # getFile itself is not a download
    for status in (404, 500):
        with pytest.raises(aiohttp.ClientResponseError) as raised:
            await bot.download(sent.document.file_id)
        assert raised.value.status == status and f"/file/bot{TOKEN}/" in str(raised.value)
    assert (await bot.download(sent.document.file_id)).read() == b"%PDF-1.4 test"
    assert (await client.stats())["faults"] == 2


async def test_blocked_user_gets_403_and_my_chat_member_updates(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    blocked = await client.set_blocked(user, True)
    assert blocked["blocked"] is True and blocked["update_id"] == 1
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
            await bot.send_message(user, "still there?")
    assert (await client.set_blocked(user, True))["update_id"] is None  # no change, no update
    await client.set_blocked(user, False)
    assert (await bot.send_message(user, "welcome back")).text == "welcome back"

    updates = await bot.get_updates(timeout=0)
    changes = [update.my_chat_member for update in updates]
    assert all(change is not None for change in changes)
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes if c] == [
        ("member", "kicked"),
        ("kicked", "member"),
    ]
    assert changes[0] is not None and changes[0].from_user.id == user


@pytest.fixture
async def limited_bot(limited_sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    telegram_bot = aiogram_bot(limited_sandbox.url)
    yield telegram_bot
    await telegram_bot.session.close()


@pytest.fixture
async def limited_client(limited_sandbox: TelegramSandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(limited_sandbox.url) as sandbox_client:
        yield sandbox_client


async def test_private_chat_limit_gives_429_when_exceeded(
    limited_bot: Bot, limited_client: SandboxClient, clock: FakeClock
) -> None:
    await limited_client.create_user(USER_ID)
    await limited_bot.send_message(USER_ID, "one")
    clock.advance(0.5)
    with pytest.raises(TelegramRetryAfter) as raised:
        await limited_bot.send_message(USER_ID, "two")
    assert raised.value.retry_after == 1
    clock.advance(0.5)
    assert (await limited_bot.send_message(USER_ID, "two")).text == "two"
    stats = await limited_client.stats()
    assert (stats["sent"], stats["rate_limited"]) == (2, 1)


async def test_private_chat_limit_respected_gives_no_429(
    limited_bot: Bot, limited_client: SandboxClient, clock: FakeClock
) -> None:
    await limited_client.create_user(USER_ID)
    sent = await limited_bot.send_message(USER_ID, "start")
    for step in range(5):
        clock.advance(1.0)
        await limited_bot.edit_message_text(f"step {step}", chat_id=USER_ID, message_id=sent.message_id)
    stats = await limited_client.stats()
    assert (stats["sent"], stats["rate_limited"]) == (6, 0)


async def test_global_limit_spans_chats(
    limited_bot: Bot, limited_client: SandboxClient, clock: FakeClock
) -> None:
    for offset in range(31):
        await limited_client.create_user(USER_ID + offset)
    for offset in range(30):
        await limited_bot.send_message(USER_ID + offset, "broadcast")
    with pytest.raises(TelegramRetryAfter):
        await limited_bot.send_message(USER_ID + 30, "broadcast")
    clock.advance(1.0)
    assert (await limited_bot.send_message(USER_ID + 30, "broadcast")).text == "broadcast"


async def test_group_limit_is_per_minute(
    limited_bot: Bot, limited_client: SandboxClient, clock: FakeClock
) -> None:
    await limited_client.create_user(USER_ID)
    await limited_client.create_group(GROUP_ID, "Refunds team", member_ids=[USER_ID])
    for _ in range(20):
        clock.advance(0.1)
        await limited_bot.send_message(GROUP_ID, "status")
    with pytest.raises(TelegramRetryAfter) as raised:
        await limited_bot.send_message(GROUP_ID, "status")
    assert 55 <= raised.value.retry_after <= 60
    clock.advance(raised.value.retry_after)
    assert (await limited_bot.send_message(GROUP_ID, "status")).text == "status"
