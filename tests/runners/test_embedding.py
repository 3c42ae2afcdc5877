"""The refund bot inside a merchant's own bot: each program of docs/examples, run on the sandbox."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.database import Database
from storage.transactions import save_transactions
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import migrated_sqlite_file
from tests.e2e.conftest import TOKEN, Payer, image_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
GROUP, AGENT, PAYER = -1009876543210, 601, 2002
SHOP_REPLY = "Welcome to the shop!"
STOP_SECONDS = 8




def environment(sandbox: TelegramSandbox, data_dir: Path) -> dict[str, str]:
    """Settings of the merchant's bot and the refund bot: the sandbox, SQLite in data_dir, a support group."""
    inherited = {k: v for k, v in os.environ.items() if k != "BOT_RUNTIME"}
    return inherited | {
        "BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox.url, "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'refund-bot.sqlite3'}",
        "SUPPORT_CHAT_ID": str(GROUP), "SUPPORT_USER_IDS": str(AGENT), "TIMEZONE": "UTC",
        "QUIET_HOURS": "off",
    }


async def import_charges(database_url: str, paid: datetime) -> None:
    """Two charges of 99.00 on order A1, 30 seconds apart, in the bot's (already migrated) database."""
    records = [
        {"transaction_id": transaction, "order_id": "A1", "payer_id": "", "currency": "CNY",
         "status": "succeeded", "amount_minor": 9900, "created_at": paid + timedelta(seconds=seconds)}
        for transaction, seconds in (("tx1", 0), ("tx2", 30))
    ]
    db = Database.connect(database_url)
    try:
        async with db.transaction() as session:
            await save_transactions(session, rows=records)
    finally:
        await db.dispose()


async def card_in_group(client: SandboxClient, reference: str, timeout: float = 10) -> dict:
    """The support card of the ticket, once the refund bot's outbox has sent it to the group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in await client.messages(GROUP):
            if reference in (message.get("caption") or message.get("text") or ""):
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no card for {reference} in the support group: {await client.messages(GROUP)}")


def allowed_updates(call: dict) -> list[str]:
    """The update types a getUpdates call asked for (sent as JSON text or as a list)."""
    asked = call["params"].get("allowed_updates", [])
    return sorted(json.loads(asked) if isinstance(asked, str) else asked)


@pytest.mark.parametrize("example", ["aiogram_bot_with_refunds.py", "ptb_bot_with_refunds.py"])
async def test_the_example_bot_answers_its_own_command_and_runs_the_refund_bot(
    example, sandbox, client, tmp_path
):
    await client.create_user(AGENT, first_name="Alice")
    await client.create_group(GROUP, "Refund support", member_ids=[AGENT])
    payer = await Payer(client, PAYER).join()
    env = environment(sandbox, tmp_path / "data")
    await migrated_sqlite_file(tmp_path / "data" / "refund-bot.sqlite3")
    paid = datetime.now(UTC).replace(second=5, microsecond=0) - timedelta(minutes=5)
    await import_charges(env["DATABASE_URL"], paid)

    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / example), cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        shop = await payer.ask("/shop")
        assert shop["text"].startswith(SHOP_REPLY)

        replies = [shop, *await payer.say("/report")]
        replies.append(await payer.ask("A1"))
        replies.append(await payer.ask("99"))
        replies.append(await payer.ask(paid.strftime("%Y-%m-%d %H:%M")))
        [review] = await payer.photo(image_bytes())
        [filed] = await payer.press(review, "Submit")
        replies += [review, filed]
        assert "filed as RF-" in filed["text"]
        assert "We found 2 charges of CN¥99.00 on order A1" in filed["text"]
        reference = next(word.strip(".,") for word in filed["text"].split() if word.startswith("RF-"))

        card = await card_in_group(client, reference)  # proactive: written to the outbox, sent by the ticker
        assert card["photo"] and "Order: A1 · Amount: CN¥99.00" in card["caption"]
        [asked] = {json.dumps(allowed_updates(call)) for call in await client.calls("getUpdates")}
        assert {"message", "callback_query", "my_chat_member"} <= set(json.loads(asked))
        in_chat = [m for m in await client.messages(PAYER) if m["from"]["is_bot"]]
        assert [m["message_id"] for m in in_chat] == [m["message_id"] for m in replies], (
            "each message got one answer: /shop only the shop's")

        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
        output = (await process.stdout.read()).decode()
        assert process.returncode == 0 and "Traceback" not in output, output
        assert TOKEN not in output and TOKEN.split(":")[1] not in output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
