"""Both runtimes under a flaky Telegram and a hostile user: 429s, 5xx on getUpdates, presses where the bot
does not answer, huge texts, a second poller on the same token, SIGTERM with an update in hand."""

import asyncio
import logging
import os
import signal
import subprocess
import sys

import pytest

from bot.aiogram_runtime.app import AiogramRunner
from bot.log_redaction import MASK
from bot.runners import runner_factory
from storage.outbox import enqueue
from storage.tickets import all_tickets
from telegram_sandbox.client import button_data
from tests.e2e.conftest import NOW, TOKEN, Payer, image_bytes
from tests.e2e.test_bad_inputs import AMOUNT_Q, at_step
from tests.e2e.test_report_flow import report_until_review
from tests.e2e.test_secrets import assert_no_secret, log_text  # noqa: F401 (a fixture)
from tests.e2e.test_support_desk import (  # noqa: F401 (desk: a fixture)
    ALICE,
    GROUP,
    body,
    desk,
    file_and_get_card,
    in_thread,
    last_id,
    next_matching,
)
from tests.sandbox.helpers import sandbox_session

OTHER_GROUP = -1005550001


async def calls_of(client, method: str, status: int | None = None) -> list[dict]:
    return [call for call in await client.calls(method) if status is None or call["status"] == status]


async def wait_until(predicate, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_429_on_a_direct_reply_is_waited_out_and_sent_once(harness, payer, client):
    await at_step(payer, "order")
    await client.inject_fault("sendMessage", error_code=429, retry_after=1, chat_id=payer.id)
    reply = await payer.ask("A1")
    assert "Order number: A1." in reply["text"] and AMOUNT_Q in reply["text"]
    texts = await payer.bot_texts()
    assert sum("Order number: A1." in t for t in texts) == 1
    assert len(await calls_of(client, "sendMessage", 429)) == 1


async def test_a_429_on_answering_a_press_loses_nothing_and_logs_no_failure(harness, payer, client, caplog):
    review = await report_until_review(payer)
    await client.inject_fault("answerCallbackQuery", error_code=429, retry_after=1)
    [filed] = await payer.press(review, "Submit")
    assert "filed as RF-" in filed["text"]
    async with harness.running.services.db.transaction() as session:
        assert len(await all_tickets(session)) == 1
    assert len(await calls_of(client, "answerCallbackQuery", 429)) == 1
    assert await client.pending_updates() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []  # no failed update


async def test_server_errors_on_get_updates_delay_but_lose_nothing(harness, payer, client):
    await client.inject_fault("getUpdates", error_code=500, count=2)
    await payer.ask("/start")  # the long poll in progress returns it; the next two polls fail
    await wait_until(lambda: _faults_taken(client, 2))
    await at_step(payer, "order")
    reply = await payer.ask("A1")
    assert "Order number: A1." in reply["text"]
    assert sum("Order number: A1." in t for t in await payer.bot_texts()) == 1


async def _faults_taken(client, count: int) -> bool:
    return (await client.stats())["faults"] >= count


async def test_a_press_in_a_group_that_is_not_the_support_group_is_left_alone(harness, payer, client):
    await payer.ask("/start")  # the bot is up
    await client.create_group(OTHER_GROUP, "Elsewhere", member_ids=[payer.id], bot_status="member")
    sent = await client.send_text(OTHER_GROUP, "hello bot", from_id=payer.id)
    before = len(await client.calls())
    await client.press(OTHER_GROUP, sent["message"]["message_id"], "rpt:k:submit", from_id=payer.id,
                       forge=True)
    await wait_until(lambda: _no_pending(client))
    await asyncio.sleep(0.3)
    later = (await client.calls())[before:]
    assert [c["method"] for c in later if c["method"] != "getUpdates"] == []
    assert [m for m in await client.messages(OTHER_GROUP) if m["from"]["is_bot"]] == []


async def _no_pending(client) -> bool:
    return await client.pending_updates() == []


@pytest.mark.parametrize("step", ["order", "amount", "time"])
async def test_a_4096_character_answer_is_answered(harness, payer, step):
    await at_step(payer, step)
    reply = await payer.ask("9" * 4096)
    assert reply["text"]


async def second_poller(harness) -> tuple[object, asyncio.Task]:
    """Another instance of the bot on the same token and database, polling alongside the first."""
    runner = runner_factory(harness.runtime)(harness.running.services)
    if isinstance(runner, AiogramRunner):
        runner.bot.session = sandbox_session(harness.sandbox_url)
    return runner, asyncio.create_task(runner.run(handle_signals=False))


@pytest.mark.transcript_in_any_order  # two tickers share the outbox
async def test_two_instances_on_one_token_answer_each_message_once(harness, payer, client):
    await payer.ask("/start")
    runner, task = await second_poller(harness)
    try:
        await wait_until(lambda: _conflicts(client), timeout=15)
        await at_step(payer, "amount")
        start = await payer.last_message_id()
        for number in range(6):
            reply = await payer.ask(f"x{number}")
            assert "couldn't read that as an amount" in reply["text"]
        async with harness.running.services.db.transaction() as session:
            for number in range(10):
                await enqueue(session, dedupe_key=f"twice-{number}", chat_id=payer.id, text=f"news {number}",
                              not_before=NOW)

        async def all_news_sent() -> bool:
            return sum(t.startswith("news ") for t in await payer.bot_texts()) >= 10

        await wait_until(all_news_sent)
        await asyncio.sleep(0.5)  # a duplicate, if any, would come now
        texts = await payer.bot_texts()
        answers = [m for m in await client.messages(payer.id)
                   if m["message_id"] > start and m["from"]["is_bot"]]
        assert sum("couldn't read that as an amount" in m["text"] for m in answers) == 6
        assert sorted(t for t in texts if t.startswith("news ")) == [f"news {n}" for n in range(10)]
    finally:
        await runner.stop()
        await asyncio.wait_for(task, 15)


async def _conflicts(client) -> bool:
    return bool(await calls_of(client, "getUpdates", 409))


# `refund-bot run` with the shutdown grace cut to 1 s, so that an update in hand outlasts it quickly.
RUN_WITH_SHORT_GRACE = (
    "import sys; from bot.runners import shared; shared.SHUTDOWN_GRACE_SECONDS = 1; "
    "from bot.cli import main; sys.exit(main(['run']))"
)


async def test_sigterm_with_an_update_in_hand_finishes_it(sandbox, client, tmp_path, runtime):
    """The reply to the update in hand waits out a 429 longer than the shutdown grace: it is still sent."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": sandbox.url,
                        "DATA_DIR": str(tmp_path / "data"), "BOT_RUNTIME": runtime, "QUIET_HOURS": "off"})
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", RUN_WITH_SHORT_GRACE, cwd=tmp_path,
                                                   env=environment, stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT)
    try:
        payer = await Payer(client, 4005).join()
        hello = await client.send_text(payer.id, "/help")  # a process starting on a busy machine: slow
        after = hello["message"]["message_id"]
        await client.wait_for_bot_messages(payer.id, after_message_id=after, timeout=60)
        await at_step(payer, "order")
        await client.inject_fault("sendMessage", error_code=429, retry_after=3, chat_id=payer.id)
        sent = await client.send_text(payer.id, "A1")
        await wait_until(lambda: _refused_once(client))  # the reply is now waiting out its 429
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
        output = (await process.stdout.read()).decode()
        assert process.returncode == 0, output
        replies = [m for m in await client.messages(payer.id)
                   if m["from"]["is_bot"] and m["message_id"] > sent["message"]["message_id"]]
        redelivered = await client.pending_updates()
        assert [AMOUNT_Q in m["text"] for m in replies] == [True], (
            f"the conversation moved to the amount step and the payer was never asked for the amount; "
            f"updates to redeliver: {redelivered}\n{output}")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _refused_once(client) -> bool:
    return bool(await calls_of(client, "sendMessage", 429))


async def test_a_stop_asked_before_the_runner_runs_is_not_lost(harness, payer):
    await payer.ask("/start")  # the first instance is polling, so it does stop
    await harness.stop()
    running = await harness.start()  # its run() has not begun yet
    await running.runner.stop()
    await asyncio.wait_for(asyncio.shield(running.task), 5)


async def test_every_logger_at_debug_shows_no_token(log_text, harness, payer, client):  # noqa: F811
    """Bot creation (PTB logs its URLs), updates, a download, a failed download, a 429, 5xx on getUpdates."""
    await at_step(payer, "screenshot")
    await client.inject_fault("download", error_code=404)
    [refused] = await payer.photo(image_bytes())
    assert "I couldn't download that file" in refused["text"]
    await client.inject_fault("sendMessage", error_code=429, retry_after=1, chat_id=payer.id)
    [review] = await payer.photo(image_bytes())
    assert "Please check your report" in review["text"]
    await client.inject_fault("getUpdates", error_code=500, count=1)
    await payer.ask("/help")
    await wait_until(lambda: _faults_taken(client, 3))
    await payer.ask("/help")
    logged = log_text()
    assert f"/file/bot{MASK}/photos/" in logged  # the download URLs were logged, redacted
    if harness.runtime == "ptb":
        assert f"Set Bot API File URL: {harness.sandbox_url}/file/bot{MASK}" in logged
    assert_no_secret(logged)


@pytest.mark.parametrize("harness", ["sqlite", "postgresql"], indirect=True)
async def test_answers_sent_back_to_back_are_taken_in_order(harness, payer, client):
    """Updates are handled concurrently (64 at once): one payer's quick answers must not overtake."""
    await at_step(payer, "order")
    first = await client.send_text(payer.id, "A1")
    await client.send_text(payer.id, "99")
    await client.send_text(payer.id, "today 09:30")
    replies = await client.wait_for_bot_messages(payer.id, after_message_id=first["message"]["message_id"],
                                                 count=3, timeout=15)
    texts = [r["text"] for r in replies]
    assert "Order number: A1." in texts[0] and "Amount: CN¥99.00." in texts[1], texts
    assert "Please send a screenshot" in texts[2], texts
    await payer.say("/cancel")
    await at_step(payer, "order")
    lengths = range(65, 75)  # each too long an order number, each refused with its length
    sent = [await client.send_text(payer.id, "x" * length) for length in lengths]
    replies = await client.wait_for_bot_messages(payer.id, after_message_id=sent[0]["message"]["message_id"],
                                                 count=len(lengths), timeout=15)
    said = [int(r["text"].split("That's ")[1].split(" ")[0]) for r in replies]
    assert said == list(lengths)


@pytest.mark.parametrize("desk", [False], ids=["replies"], indirect=True)
async def test_huge_questions_are_refused_in_words_and_the_longest_allowed_reaches_the_payer(
    harness, payer, client, desk  # noqa: F811
):
    card, _ = await file_and_get_card(payer, client)
    await client.press(GROUP, card["message_id"], button_data(card, "Ask"), from_id=ALICE)
    await next_matching(client, GROUP, card["message_id"], lambda m: "send your question" in body(m))
    group_before = await last_id(client, GROUP)
    await in_thread(client, card, "Q" * 4096, ALICE)  # as long as Telegram lets anyone write
    await next_matching(client, GROUP, group_before, lambda m: "that is 4096 characters" in body(m))
    before, group_before = await payer.last_message_id(), await last_id(client, GROUP)
    words = "🙂" * 1000  # the most the payer can receive, each emoji two UTF-16 units in Telegram's count
    await in_thread(client, card, words, ALICE)
    preview = await next_matching(client, GROUP, group_before, lambda m: "Preview" in body(m))
    await client.press(GROUP, preview["message_id"], button_data(preview, "Send"), from_id=ALICE)
    question = await next_matching(client, payer.id, before, lambda m: "support asks" in m.get("text", ""))
    assert words in question["text"]


@pytest.mark.parametrize("status", [401, 404])
async def test_one_refused_get_updates_does_not_stop_the_bot_for_good(harness, payer, client, status):
    """A proxy's or Telegram's passing 401/404 on getUpdates: polling goes on once it is answered again."""
    await client.inject_fault("getUpdates", error_code=status, count=1)
    await payer.ask("/start")  # the long poll in progress returns it; the next poll is refused
    await wait_until(lambda: _faults_taken(client, 1))
    reply = await payer.ask("/help")
    assert reply["text"]
