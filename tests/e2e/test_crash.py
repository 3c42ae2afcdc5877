"""kill -9 with messages due, then a restart: every message arrives, none twice beyond the one in flight."""

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.wiring import build_services
from storage.outbox import count_by_status, enqueue
from tests.e2e.conftest import TOKEN

CLI = str(Path(sys.executable).with_name("refund-bot"))
CHATS = range(7000, 7040)


async def start_bot(sandbox_url: str, data_dir: Path, runtime: str) -> asyncio.subprocess.Process:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox_url, "DATA_DIR": str(data_dir),
                        "OUTBOX_RATE": "10", "OUTBOX_LEASE": "2s", "BOT_RUNTIME": runtime})
    return await asyncio.create_subprocess_exec(CLI, "run", env=environment, cwd=data_dir.parent,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def sent_per_chat(client) -> Counter:
    calls = await client.calls("sendMessage")
    return Counter(int(c["params"]["chat_id"]) for c in calls if c["status"] == 200)


@pytest.mark.transcript_at_least_once
async def test_kill_9_then_restart_delivers_everything_once(sandbox, client, tmp_path, runtime):
    data_dir = tmp_path / "data"
    services = await build_services(load_settings(bot_token=TOKEN, data_dir=data_dir))
    async with services.db.transaction() as session:
        for chat in CHATS:
            await enqueue(session, dedupe_key=f"notice:{chat}", chat_id=chat, text=f"for {chat}",
                          not_before=datetime.now(UTC))
    for chat in CHATS:
        await client.create_user(chat)

    bot = await start_bot(sandbox.url, data_dir, runtime)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while sum((await sent_per_chat(client)).values()) < 10:  # wait until delivery is under way
            assert loop.time() < deadline and bot.returncode is None
            await asyncio.sleep(0.02)
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        before_restart = await sent_per_chat(client)
        assert 10 <= sum(before_restart.values()) < len(CHATS)

        bot = await start_bot(sandbox.url, data_dir, runtime)
        for chat in CHATS:
            await client.wait_for_bot_messages(chat, count=1, timeout=30)
        deadline = loop.time() + 15
        while await statuses(services) != {"sent": len(CHATS)}:  # the last "sent" is written after the send
            assert loop.time() < deadline, await statuses(services)
            await asyncio.sleep(0.05)
    finally:
        if bot.returncode is None:
            bot.terminate()
            await bot.wait()
    delivered = await sent_per_chat(client)
    assert set(delivered) == set(CHATS)
    twice = [chat for chat, count in delivered.items() if count > 1]
    assert len(twice) <= 1 and all(delivered[chat] == 2 for chat in twice)
    await services.close()


async def statuses(services) -> dict[str, int]:
    async with services.db.transaction() as session:
        return await count_by_status(session)
