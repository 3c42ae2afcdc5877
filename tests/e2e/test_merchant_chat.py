"""A merchant's broadcast composed in the chat, through the real runtime: pick, preview, audience, confirm."""

from collections.abc import AsyncIterator

import pytest

from telegram_sandbox.client import button_data, buttons
from tests.conftest import migrated_sqlite_file
from tests.e2e.conftest import BotHarness
from tests.e2e.test_broadcasts import MERCHANT, people, until
from tests.e2e.test_delivery import received


async def _message_with_button(client, chat: int, label: str) -> dict | None:
    """The bot's newest message in `chat` with a button whose text contains `label`."""
    for message in reversed(await client.messages(chat)):
        if message.get("from", {}).get("is_bot") and any(label in text for text, _ in buttons(message)):
            return message
    return None


async def tap(client, chat: int, label: str) -> None:
    """Wait for the bot's button containing `label` in `chat`, and tap it."""
    message = await until(lambda: _message_with_button(client, chat, label))
    await client.press(chat, message["message_id"], button_data(message, label))


@pytest.fixture
async def harness(sandbox, tmp_path) -> AsyncIterator[BotHarness]:
    """The bot with a merchant admin, on SQLite."""
    path = await migrated_sqlite_file(tmp_path / "data" / "bot.sqlite3")
    bot = BotHarness(sandbox.url, tmp_path / "data", f"sqlite+aiosqlite:///{path}", {})
    bot.overrides.update(merchant_admin_ids=str(MERCHANT))
    await bot.start()
    yield bot
    await bot.stop()


async def test_a_merchant_composes_previews_schedules_and_confirms_in_the_chat(harness, client):
    db = harness.running.services.db
    await people(db, client, [(4000, "en", True), (4001, "zh", True), (4002, "en", False)])
    stranger = 4003
    await client.create_user(stranger, first_name="Sam")

    await client.send_text(MERCHANT, "/broadcast")
    await tap(client, MERCHANT, "Wait for confirmation")  # library tip 3
    preview = await until(lambda: _message_with_button(client, MERCHANT, "Everyone (2)"))
    shown = [m.get("text", "") for m in await client.messages(MERCHANT) if m.get("from", {}).get("is_bot")]
    assert harness.running.services.texts.get("en", "tip.3") in shown  # the preview, exactly as sent
    assert harness.running.services.texts.get("zh", "tip.3") in shown
    assert await received(client, 4000) == []  # nothing before Confirm
    await client.press(MERCHANT, preview["message_id"], button_data(preview, "Chinese (1)"))
    await tap(client, MERCHANT, "Now")
    await tap(client, MERCHANT, "Confirm")

    tip = await until(lambda: received(client, 4001))
    assert tip == [harness.running.services.texts.get("zh", "tip.3")]
    await until(lambda: _said(client, MERCHANT, "Queued as broadcast #"))
    assert await received(client, 4000) == [] and await received(client, 4002) == []  # audience, opt-out

    said = await client.send_text(stranger, "/broadcast")
    [answer] = await client.wait_for_bot_messages(stranger, after_message_id=said["message"]["message_id"],
                                                  count=1, timeout=15)
    assert answer["text"] == harness.running.services.texts.get("en", "command.unknown")


async def _said(client, chat: int, words: str) -> bool:
    return any(words in text for text in await received(client, chat))
