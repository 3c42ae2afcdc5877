"""Webhook mode end to end: the sandbox POSTs updates to the bot's HTTP server, on both runtimes."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import select

from storage.database import Database
from storage.inbound_updates import inbound_updates, record_update
from storage.tickets import all_tickets
from tests.e2e.conftest import TOKEN, WEBHOOK_SECRET, BotHarness, Payer, image_bytes


def in_webhook_mode(test):
    """The test's bot runs in webhook mode, on SQLite, and is ready before the test begins."""
    ready = pytest.mark.usefixtures("ready")(test)
    return pytest.mark.parametrize("harness", ["webhook"], indirect=True)(ready)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CLI = str(Path(sys.executable).with_name("refund-bot"))


async def recorded(harness, *, settled: bool = True) -> list[tuple[int, datetime | None]]:
    """(update_id, handled_at or None) of every update the webhook recorded; `settled`: once all are handled
    (the reply goes out just before an update is noted as handled), or 2 s."""
    columns = select(inbound_updates.c.update_id, inbound_updates.c.handled_at)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2
    while True:
        async with harness.running.services.db.transaction() as session:
            rows = list((await session.exec(columns.order_by(inbound_updates.c.update_id))).all())
        if not settled or all(handled for _, handled in rows) or loop.time() > deadline:
            return [(update_id, handled) for update_id, handled in rows]
        await asyncio.sleep(0.02)


async def http(method: str, url: str, **options) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **options) as response:
        return response.status, await response.json()


def base_of(harness) -> str:
    return harness.webhook_url.removesuffix("/telegram/webhook")


async def wait_until_ready(base: str, timeout: float = 10) -> None:
    """Wait until the bot answers /readyz with 200: serving, webhook registered."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                if (await http("GET", f"{base}/readyz"))[0] == 200:
                    return
            except aiohttp.ClientConnectionError:
                pass  # not serving yet
            await asyncio.sleep(0.02)


@pytest.fixture
async def ready(harness) -> None:
    await wait_until_ready(base_of(harness))


@in_webhook_mode
async def test_a_report_is_filed_through_the_webhook(harness, payer: Payer, sandbox):
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", harness.clock()),
                                 ("tx2", "A1", "99.00", "CNY", "succeeded", harness.clock()))
    await payer.say("/report")
    await payer.say("A1")
    await payer.say("99")
    await payer.say("today 15:00")
    [review] = await payer.photo(image_bytes())
    [filed] = await payer.press(review, "Submit")

    assert "filed as RF-" in filed["text"]
    async with harness.running.services.db.transaction() as session:
        [ticket] = await all_tickets(session)
    assert ticket.reference in filed["text"]
    info = sandbox.state.webhook.info()
    assert info["url"] == harness.webhook_url and info["max_connections"] == 40
    assert info["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert sandbox.state.webhook.config.secret_token == WEBHOOK_SECRET
    assert "last_error_message" not in info
    rows = await recorded(harness)
    assert len(rows) == 6 and all(handled is not None for _, handled in rows)  # 5 messages and the press
    assert await http("GET", f"{base_of(harness)}/readyz") == (200, {"ok": True, "state": "ready"})
    assert await http("GET", f"{base_of(harness)}/healthz") == (
        200, {"ok": True, "database": "reachable", "scheduler": "running"})


@in_webhook_mode
@pytest.mark.parametrize("secret", [None, "wrong", WEBHOOK_SECRET[:-1]])
async def test_a_wrong_secret_is_refused_and_nothing_is_handled(harness, payer, client, secret):
    forged = {"update_id": 10_000, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "chat": {"id": payer.id, "type": "private", "first_name": "Ann"},
        "from": {"id": payer.id, "is_bot": False, "first_name": "Ann"}}}
    headers = {} if secret is None else {SECRET_HEADER: secret}

    status, answer = await http("POST", harness.webhook_url, json=forged, headers=headers)

    assert (status, answer) == (401, {"ok": False, "error": "wrong secret token"})
    await asyncio.sleep(0.2)
    assert await recorded(harness) == []
    assert await payer.bot_texts() == []
    # the right secret with the same body is taken: the refusal was the secret's
    right = {SECRET_HEADER: WEBHOOK_SECRET}
    assert (await http("POST", harness.webhook_url, json=forged, headers=right))[0] == 200
    await client.wait_for_bot_messages(payer.id, after_message_id=0, count=1, timeout=15)
    assert [update_id for update_id, _ in await recorded(harness)] == [10_000]


@in_webhook_mode
async def test_a_body_that_is_no_update_is_a_bad_request(harness):
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    for body in (b"{", b"[1]", b'{"update_id": "7"}'):
        assert (await http("POST", harness.webhook_url, data=body, headers=headers))[0] == 400
    assert await recorded(harness) == []


@in_webhook_mode
async def test_a_redelivered_update_is_recorded_and_handled_once(harness, payer, client, sandbox):
    await payer.say("/report")
    posts_before = sandbox.state.webhook.posts
    sent = await client.send_text(payer.id, "A1", deliver_twice=True)
    [reply] = await client.wait_for_bot_messages(payer.id, after_message_id=sent["message"]["message_id"],
                                                 count=1, timeout=15)
    queue = sandbox.state.updates
    assert await queue.pulse.wait_for(lambda: not queue.pending, 5)

    assert "Order number: A1." in reply["text"]
    assert sandbox.state.webhook.posts - posts_before == 2  # the sandbox did post it twice
    follow_up = await payer.ask("99")
    assert "Amount: CN¥99.00." in follow_up["text"]
    assert sum("Order number: A1." in text for text in await payer.bot_texts()) == 1
    assert len(await recorded(harness)) == 3


@in_webhook_mode
async def test_updates_recorded_but_not_handled_before_a_crash_are_handled_at_restart(harness, payer, client,
                                                                                   sandbox):
    welcome = await payer.ask("/start")
    await harness.stop()
    # An update recorded (answered 200) and then lost with the process, and the /start above as if the
    # process died after handling it but before noting so: the claim keeps it from being handled twice.
    sent = await client.send_text(payer.id, "/help")
    [lost] = [queued for queued in sandbox.state.updates.pending if queued["update_id"] == sent["update_id"]]
    sandbox.state.updates.pending.remove(lost)
    database = Database.connect(harness.database_url)
    try:
        async with database.transaction() as session:
            assert await record_update(session, update=lost, now=harness.clock())
            await session.exec(update(inbound_updates).values(handled_at=None))
    finally:
        await database.dispose()

    await harness.start()
    after = sent["message"]["message_id"]
    [help_answer] = await client.wait_for_bot_messages(payer.id, after_message_id=after, count=1, timeout=15)

    assert help_answer["message_id"] > welcome["message_id"]
    await asyncio.sleep(0.3)
    texts = await payer.bot_texts()
    assert sum(text == welcome["text"] for text in texts) == 1
    assert len(texts) == 2
    rows = await recorded(harness)
    assert len(rows) == 2 and all(handled is not None for _, handled in rows)


@in_webhook_mode
async def test_stopping_finishes_the_update_in_hand_and_refuses_new_ones(harness, payer, client, sandbox):
    await payer.ask("/start")
    sent = await client.send_text(payer.id, "/report")

    async with asyncio.timeout(5):
        while len(await recorded(harness, settled=False)) < 2:  # noqa: ASYNC110  (the database is polled)
            await asyncio.sleep(0.005)
    stopping = asyncio.create_task(harness.running.stop())  # the /report is in hand now, or just done
    await asyncio.sleep(0)
    late = await client.send_text(payer.id, "/help")
    await stopping
    services = harness.running.services

    [answer] = await client.wait_for_bot_messages(payer.id, after_message_id=sent["message"]["message_id"],
                                                  count=1, timeout=5)
    assert "order number" in answer["text"].lower()
    async with services.db.transaction() as session:
        rows = (await session.exec(select(inbound_updates.c.update_id, inbound_updates.c.handled_at))).all()
    assert all(handled is not None for _, handled in rows)
    assert late["update_id"] not in [update_id for update_id, _ in rows]
    info = sandbox.state.webhook.info()
    assert info["url"] == harness.webhook_url  # still set: other instances serve it
    assert info["pending_update_count"] == 1 and info["last_error_message"]
    await services.close()
    harness.running = None
    assert json.dumps(info)  # reported as Telegram would


def cli_environment(sandbox_url: str, data_dir: Path, runtime: str, **settings: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox_url, "DATA_DIR": str(data_dir),
                        "BOT_RUNTIME": runtime, "BOT_MODE": "webhook", **settings})
    return environment


@pytest.mark.transcript_skips_chats(4004, reason="whether the /report is answered before SIGTERM is a race")
async def test_refund_bot_run_serves_the_webhook_and_sigterm_drains(sandbox, client, tmp_path, runtime):
    harness = BotHarness(sandbox.url, tmp_path / "data", "", {}, runtime)
    harness.serve_webhook()
    port = harness.overrides["http_port"]
    environment = cli_environment(sandbox.url, tmp_path / "data", runtime, WEBHOOK_URL=harness.webhook_url,
                                  WEBHOOK_SECRET=WEBHOOK_SECRET, HTTP_PORT=str(port))
    process = await asyncio.create_subprocess_exec(CLI, "run", cwd=tmp_path, env=environment,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        await wait_until_ready(f"http://127.0.0.1:{port}", timeout=20)
        payer = await Payer(client, 4004).join()
        welcome = await payer.ask("/start")
        assert "Refund Assistant" in welcome["text"]
        sent = await client.send_text(payer.id, "/report")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 8)
        output = (await process.stdout.read()).decode()
        assert process.returncode == 0, output
        assert WEBHOOK_SECRET not in output and TOKEN.split(":")[1] not in output
        assert sandbox.state.webhook.info()["url"] == harness.webhook_url  # not deleted at shutdown
        # The /report was taken (answered 200) and so answered before the exit, or it waits in the sandbox
        # for an instance (refused with 503, or no one listening).
        if sandbox.state.webhook.info()["pending_update_count"] == 0:
            after = sent["message"]["message_id"]
            await client.wait_for_bot_messages(payer.id, after_message_id=after, count=1, timeout=0.5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(("settings", "problem"), [
    ({"WEBHOOK_URL": "https://bot.example.com/hook"}, "WEBHOOK_SECRET: 1-256 characters"),
    ({"WEBHOOK_URL": "https://bot.example.com/hook", "WEBHOOK_SECRET": "has spaces"},
     "WEBHOOK_SECRET: 1-256 characters"),
    ({"WEBHOOK_SECRET": WEBHOOK_SECRET}, "WEBHOOK_URL: the public https:// address"),
    ({"WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_URL": "http://bot.example.com/hook"},
     "WEBHOOK_URL: the public https:// address"),
])
async def test_webhook_mode_refuses_to_start_without_what_it_needs(tmp_path, settings, problem):
    environment = cli_environment("http://127.0.0.1:9", tmp_path / "data", "aiogram", **settings)
    process = await asyncio.create_subprocess_exec(CLI, "run", cwd=tmp_path, env=environment,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = (await asyncio.wait_for(process.communicate(), 20))[0].decode()

    assert process.returncode == 2
    [line] = output.strip().splitlines()
    assert line.startswith("refund-bot: configuration error: BOT_MODE=webhook needs ") and problem in line
    assert "has spaces" not in line
