"""Double taps, redelivered updates, restarts and SIGTERM: one ticket, nothing lost."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storage.tickets import all_tickets
from telegram_sandbox.client import button_data
from tests.e2e.conftest import TOKEN, Payer, image_bytes
from tests.e2e.test_report_flow import report_until_review


@pytest.mark.parametrize("harness", ["sqlite", "postgresql"], indirect=True)
async def test_a_double_tap_on_submit_files_one_ticket(harness, payer, client):
    review = await report_until_review(payer)
    submit = button_data(review, "Submit")
    await asyncio.gather(client.press(payer.id, review["message_id"], submit),
                         client.press(payer.id, review["message_id"], submit))
    replies = await client.wait_for_bot_messages(payer.id, after_message_id=review["message_id"],
                                                 count=2, timeout=15)
    texts = sorted(r["text"] for r in replies)
    assert sum("filed as RF-" in t for t in texts) == 1
    assert sum("already submitted as RF-" in t for t in texts) == 1
    async with harness.running.services.db.transaction() as session:
        assert len(await all_tickets(session)) == 1


@pytest.mark.parametrize("harness", ["sqlite", "postgresql"], indirect=True)
async def test_a_redelivered_update_is_handled_once(harness, payer, client):
    await payer.say("/report")
    sent = await client.send_text(payer.id, "A1", deliver_twice=True)
    [reply] = await client.wait_for_bot_messages(payer.id, after_message_id=sent["message"]["message_id"],
                                                 count=1, timeout=15)
    assert "Order number: A1." in reply["text"]
    follow_up = await payer.ask("99")
    assert "Amount: CN¥99.00." in follow_up["text"]
    texts = await payer.bot_texts()
    assert sum("Order number: A1." in t for t in texts) == 1


async def test_a_restart_mid_report_continues_where_the_payer_was(harness, payer):
    await payer.say("/report")
    await payer.say("A1")
    await harness.stop()
    await harness.start()
    reply = await payer.ask("99")
    assert "Amount: CN¥99.00." in reply["text"] and "When did you pay?" in reply["text"]
    await payer.say("today 09:30")
    [review] = await payer.photo(image_bytes())
    [filed] = await payer.press(review, "Submit")
    assert "filed as RF-" in filed["text"]


async def test_sigterm_stops_the_bot_within_seconds(sandbox, client, tmp_path, runtime):
    cli = str(Path(sys.executable).with_name("refund-bot"))
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox.url,
                        "DATA_DIR": str(tmp_path / "data"), "BOT_RUNTIME": runtime})
    process = await asyncio.create_subprocess_exec(cli, "run", cwd=tmp_path, env=environment,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        payer = await Payer(client, 4004).join()
        welcome = await payer.ask("/start")
        assert "Refund Assistant" in welcome["text"]
        await payer.say("/report")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 8)
        output = (await process.stdout.read()).decode()
        assert process.returncode == 0, output
        assert TOKEN not in output and TOKEN.split(":")[1] not in output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
