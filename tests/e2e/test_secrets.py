"""The bot token reaches no log line, no message and no database row, even when a URL holding it fails."""

import asyncio
import io
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import select

from bot.log_redaction import MASK, redact_secrets
from storage.models import Conversation, OutboxMessage
from storage.outbox import enqueue
from tests.e2e.conftest import NOW, TOKEN, Payer, image_bytes
from tests.e2e.test_bad_inputs import SHOT_Q, at_step

SECRET_PART = TOKEN.split(":", 1)[1]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@pytest.fixture
def log_text() -> Iterator[Callable[[], str]]:
    """Every record of every logger at DEBUG, tracebacks included, through the redaction the CLI installs.

    One handler is on the root logger before the redaction is installed, one is added after it.
    """
    root, level = logging.getLogger(), logging.getLogger().level
    before, after = io.StringIO(), io.StringIO()
    early = logging.StreamHandler(before)
    early.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(early)
    root.setLevel(logging.DEBUG)
    redaction = redact_secrets(TOKEN)
    late = logging.StreamHandler(after)
    late.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(late)
    yield lambda: before.getvalue() + after.getvalue()
    root.removeHandler(late)
    root.removeHandler(early)
    redaction.undo()
    root.setLevel(level)


async def outbox_errors(harness) -> list[str]:
    async with harness.running.services.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return [row.last_error for row in rows if row.last_error]


async def step_of(harness, payer: Payer) -> str | None:
    async with harness.running.services.db.transaction() as session:
        conversation = await session.get(Conversation, payer.id)
    return conversation.step if conversation else None


async def wait_until(predicate, timeout: float = 10) -> None:
    """Wait for something the bot does on its own clock (the outbox drain)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def assert_no_secret(text: str) -> None:
    assert TOKEN not in text and SECRET_PART not in text


@pytest.mark.parametrize("status", [404, 500])
async def test_a_failed_screenshot_download_is_answered_and_leaks_no_token(log_text, harness, payer, client,
                                                                            status):
    await at_step(payer, "screenshot")
    await client.inject_fault("download", error_code=status)
    [reply] = await payer.photo(image_bytes())
    assert "I couldn't download that file" in reply["text"] and SHOT_Q in reply["text"]
    assert await step_of(harness, payer) == "screenshot"
    [review] = await payer.photo(image_bytes())  # the same question stands, and a good photo passes it
    assert "Please check your report" in review["text"]
    logged = log_text()
    assert f"file download failed: HTTP {status}" in logged
    # the sandbox's access log saw the file URL, token and all: it went through the redaction
    assert re.search(rf'"GET /file/bot{re.escape(MASK)}/photos/\S+ HTTP/1.1" {status}', logged)
    assert_no_secret(logged)
    assert_no_secret(reply["text"])
    for error in await outbox_errors(harness):
        assert_no_secret(error)


async def test_a_failed_download_is_answered_in_chinese(log_text, harness, client):
    payer = await Payer(client, 1002, language_code="zh").join()
    await at_step(payer, "screenshot")
    await client.inject_fault("download", error_code=500)
    [reply] = await payer.photo(image_bytes())
    assert "无法下载这个文件" in reply["text"] and "请发送付款记录的截图" in reply["text"]
    assert_no_secret(log_text())


async def test_an_error_text_carrying_the_token_is_stored_and_logged_redacted(log_text, harness, payer,
                                                                               client, sandbox):
    await payer.say("/start")
    url = f"{sandbox.url}/bot{TOKEN}/sendMessage"
    await client.inject_fault("sendMessage", error_code=500, chat_id=payer.id,
                              description=f"Internal Server Error at {url}")
    async with harness.running.services.db.transaction() as session:
        await enqueue(session, dedupe_key="secret-check", chat_id=payer.id, text="hello", not_before=NOW)

    async def failed_once() -> bool:
        return bool(await outbox_errors(harness))

    await wait_until(failed_once)
    [error] = await outbox_errors(harness)
    assert "TelegramServerError" in error and "Internal Server Error at" in error
    assert_no_secret(error)
    assert_no_secret(log_text())
