"""The operator contract: `refund-bot` commands on a real SQLite file."""

import asyncio
import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage.payer_links import users_linked_to
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import make_sqlite
from tests.money.conftest import make_world, outputs_text

CLI = str(Path(sys.executable).with_name("refund-bot"))
HEADER = "transaction_id,order_id,payer_id,amount,currency,status,created_at\n"


def run(tmp_path: Path, *args: str, env: dict | None = None, answer: str = "") -> subprocess.CompletedProcess:
    """`refund-bot ARGS` in this process, in `tmp_path`, with its own environment and outputs.

    A fresh process spends two seconds importing; the tests marked below still start real ones.
    """
    environment = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    environment.update({"BOT_TOKEN": "123:secret-token-value", "DATA_DIR": str(tmp_path / "data")})
    environment.update(env or {})
    stdout, stderr = io.StringIO(), io.StringIO()

    def command() -> int:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(environment)
        try:
            with contextlib.chdir(tmp_path), contextlib.redirect_stdout(stdout), \
                    contextlib.redirect_stderr(stderr):
                sys.stdin = io.StringIO(answer)
                try:
                    return main(list(args))
                except SystemExit as exit_:  # argparse refusing the arguments
                    return exit_.code if isinstance(exit_.code, int) else 2
        finally:
            os.environ.clear()
            os.environ.update(saved)
            sys.stdin = sys.__stdin__

    with ThreadPoolExecutor(1) as pool:  # its own thread: main() runs its own event loop
        code = pool.submit(command).result(timeout=120)
    return subprocess.CompletedProcess([CLI, *args], code, stdout.getvalue(), stderr.getvalue())


def run_process(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`refund-bot ARGS` as a real process, for what only a process shows (exit codes, no traceback)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    environment.update({"BOT_TOKEN": "123:secret-token-value", "DATA_DIR": str(tmp_path / "data")})
    environment.update(env or {})
    return subprocess.run([CLI, *args], cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_missing_token_is_a_clear_error(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    result = subprocess.run([CLI, "tickets"], cwd=tmp_path, capture_output=True, text=True,
                            env=environment, timeout=60)
    assert result.returncode == 2
    assert "BOT_TOKEN is required" in result.stderr


def test_import_then_reimport_is_idempotent(tmp_path):
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(HEADER + "tx1,A1,p1,99.00,CNY,succeeded,2026-11-25T14:32:00+08:00\n"
                        "tx2,A1,p1,99.00,CNY,succeeded,2026-11-25T14:32:20+08:00\n")
    first = run(tmp_path, "import-transactions", str(csv_file), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "imported 2 transaction(s)" in first.stdout
    second = run(tmp_path, "import-transactions", str(csv_file))
    assert second.returncode == 0 and "imported 2 transaction(s)" in second.stdout
    assert "secret-token-value" not in first.stdout + first.stderr + second.stderr


def test_an_optional_telegram_id_column_links_payers(tmp_path):
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(HEADER.replace("\n", ",telegram_id\n")
                        + "tx1,A1,p1,99.00,CNY,succeeded,2026-11-25T14:32:00+08:00,424242\n"
                        + "tx2,A1,p1,99.00,CNY,succeeded,2026-11-25T14:32:20+08:00,\n")
    result = run(tmp_path, "import-transactions", str(csv_file), "--no-progress")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "refund-bot.sqlite3") as database:
        links = database.execute("SELECT payer_id, telegram_user_id, source FROM payer_links").fetchall()
        payers = database.execute("SELECT transaction_id, payer_id FROM transactions ORDER BY 1").fetchall()
    assert links == [("p1", 424242, "records")]
    assert payers == [("tx1", "p1"), ("tx2", "p1")]


def test_a_file_with_a_bad_row_imports_nothing(tmp_path):
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(HEADER + "tx1,A1,p1,99.00,CNY,succeeded,2026-11-25T14:32:00+08:00\n"
                        "tx2,A1,p1,-3,CNY,succeeded,2026-11-25T14:32:20+08:00\n"
                        "tx3,A1,p1,9,CNY,maybe,2026-11-25T14:32:20+08:00\n")
    result = run(tmp_path, "import-transactions", str(csv_file), "--no-progress")
    assert result.returncode == 1
    assert f"{csv_file}:3: amount '-3' must be a positive number" in result.stderr
    assert f"{csv_file}:4: status 'maybe'" in result.stderr
    assert "nothing imported: 2 bad row(s)" in result.stderr
    assert json.loads(run(tmp_path, "tickets", "--json").stdout) == []


@pytest.mark.parametrize("content", ["", "transaction_id,order_id,amount\n1,2,3\n"])
def test_a_file_without_the_header_is_refused(tmp_path, content):
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(content)
    result = run(tmp_path, "import-transactions", str(csv_file), "--no-progress")
    assert result.returncode == 1 and ":1: the" in result.stderr


SAMPLES = Path(__file__).resolve().parent / "samples" / "exports"
REFUNDED_ONE_AND_PART = "1 charge(s) refunded in full, 1 in part (left succeeded); 0 problems"


@pytest.mark.parametrize(
    ("sample", "detected", "summary", "partial"),
    [
        ("wechat_pay_tradebill.csv", "format: WeChat Pay trade bill (交易账单), utf-8",
         "imported 5 transaction(s): 4 charge(s), 1 failed payment(s); 2 refund(s): "
         f"{REFUNDED_ONE_AND_PART}", "4200002611202611251234567003"),
        ("alipay_business_details.csv", "format: Alipay merchant bill (业务明细), gbk",
         "imported 4 transaction(s): 4 charge(s), 0 failed payment(s); 2 refund(s): "
         f"{REFUNDED_ONE_AND_PART}", "2026112522001412345678900003"),
        ("stripe_unified_payments.csv", "format: Stripe payments export (unified_payments.csv), utf-8",
         "imported 6 transaction(s): 5 charge(s), 1 failed payment(s); 2 refund(s): "
         f"{REFUNDED_ONE_AND_PART}", "ch_3QAbcdEFgh000003"),
    ],
)
def test_a_platforms_export_is_detected_and_imported(tmp_path, sample, detected, summary, partial):
    result = run(tmp_path, "import-transactions", str(SAMPLES / sample), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [detected, summary, f"partly refunded, left succeeded: {partial}"]
    with sqlite3.connect(tmp_path / "data" / "refund-bot.sqlite3") as database:
        statuses = dict(database.execute("SELECT status, count(*) FROM transactions GROUP BY 1").fetchall())
        duplicates = database.execute(
            "SELECT count(*) FROM transactions WHERE status = 'succeeded' GROUP BY payer_id, amount_minor "
            "HAVING count(DISTINCT order_id) > 1").fetchall()
        suspicions = database.execute("SELECT status FROM suspected_duplicates").fetchall()
    assert statuses.get("refunded") == 1 and statuses.get("failed", 0) == (0 if "alipay" in sample else 1)
    assert duplicates == [(2,)]  # the re-tap on a second order
    assert suspicions == [("historic",)]  # the monitor saw it; history older than a day alerts nobody


def test_a_malformed_export_imports_nothing(tmp_path):
    sample = SAMPLES / "alipay_business_details_malformed.csv"
    result = run(tmp_path, "import-transactions", str(sample), "--no-progress")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-4:] == [
        f"{sample}:7: 完成时间 '昨天下午' is not a time like 2026-11-25 14:32:05",
        f"{sample}:8: 业务类型 '转账' is neither 交易 nor 退款",
        f"{sample}:9: 订单金额（元） '199.001' has more than 2 decimals for CNY",
        "refund-bot: nothing imported: 3 bad row(s)",
    ]


def test_an_unknown_layout_in_gbk_is_one_line_and_exit_2(tmp_path):
    csv_file = tmp_path / "bill.csv"
    csv_file.write_bytes("日期,金额,备注\n2026-11-25,88.00,会员\n".encode("gbk"))
    result = run_process(tmp_path, "import-transactions", str(csv_file))  # with the progress bar on
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"refund-bot: {csv_file}: unknown layout: the header has 日期, 金额, 备注; known ")
    assert "WeChat Pay trade bill" in line and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # refused before the database is opened


def test_missing_file(tmp_path):
    result = run(tmp_path, "import-transactions", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


async def test_run_on_ptb_answers_over_the_sandbox_and_stops_on_sigterm(tmp_path):
    token = "123456:sandbox-token"
    async with TelegramSandbox(token=token) as sandbox, SandboxClient(sandbox.url) as client:
        environment = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        environment.update({"BOT_TOKEN": token, "TELEGRAM_API_BASE": sandbox.url, "BOT_RUNTIME": "ptb",
                            "DATA_DIR": str(tmp_path / "data")})
        process = await asyncio.create_subprocess_exec(
            CLI, "run", cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await client.create_user(4242, language_code="en")
            sent = await client.send_text(4242, "/help")
            [reply] = await client.wait_for_bot_messages(4242, after_message_id=sent["message"]["message_id"],
                                                         timeout=30)
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        polls = await client.calls("getUpdates")
    assert "What would you like to know?" in reply["text"]
    printed = output.decode()
    assert process.returncode == 0, printed
    assert "telegram.ext.Application: Application started" in printed  # PTB's, not aiogram's, loop ran
    assert "Traceback" not in printed and token.split(":")[1] not in printed
    assert polls and all(call["params"].get("allowed_updates") for call in polls)


LINK_SECRET = "deep-link-secret-" + "x" * 24


async def test_payers_link_prints_a_link_the_desk_accepts(tmp_path):
    before = datetime.now(UTC)
    result = run(tmp_path, "payers", "link", "cus_NffrFeUfNV2Hib", "--ttl", "7d",
                 env={"LINK_SECRET": LINK_SECRET, "BOT_USERNAME": "@refund_assistant_bot"})

    assert result.returncode == 0, result.stderr
    [url] = result.stdout.splitlines()
    assert url.startswith("https://t.me/refund_assistant_bot?start=")
    token = url.partition("?start=")[2]
    assert LINK_SECRET not in result.stdout + result.stderr
    world = make_world(await make_sqlite(tmp_path / "desk"), tmp_path)
    world.payers.rules = replace(world.payers.rules, link_secret=LINK_SECRET.encode())
    try:
        world.clock.now = before + timedelta(days=7) - timedelta(minutes=1)
        assert "now linked" in outputs_text(await world.say(7, f"/start {token}"))
        world.clock.now = before + timedelta(days=7, minutes=1)
        assert "expired" in outputs_text(await world.say(8, f"/start {token}"))
        async with world.db.transaction() as session:
            assert await users_linked_to(session, payer_id="cus_NffrFeUfNV2Hib") == [7]
    finally:
        await world.db.dispose()


def test_payers_link_without_a_bot_username_prints_the_token_and_the_template(tmp_path):
    result = run(tmp_path, "payers", "link", "p1", env={"LINK_SECRET": LINK_SECRET, "BOT_USERNAME": ""})

    assert result.returncode == 0, result.stderr
    token, template = result.stdout.splitlines()
    assert template == f"https://t.me/<bot username>?start={token}"
    assert "BOT_USERNAME" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "env", "said"),
    [
        (("p1",), {"LINK_SECRET": ""}, "refund-bot: LINK_SECRET is not set, so deep links are off"),
        (("p" * 34,), {"LINK_SECRET": LINK_SECRET}, "a deep link holds at most 33 bytes"),
        (("p1", "--ttl", "off"), {"LINK_SECRET": LINK_SECRET}, "--ttl 'off' must be a positive duration"),
        (("p1",), {"LINK_SECRET": "short"}, "LINK_SECRET: must be at least 32 characters"),
    ],
)
def test_payers_link_refusals_are_one_line_and_exit_2(tmp_path, arguments, env, said):
    result = run(tmp_path, "payers", "link", *arguments, env=env)

    assert result.returncode == 2 and result.stdout == ""
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "short" not in result.stderr  # a too-short secret is not echoed either


def broadcasts(tmp_path: Path, *args: str, answer: str = "") -> subprocess.CompletedProcess:
    return run(tmp_path, "broadcasts", *args, env={"TIMEZONE": "Asia/Shanghai"}, answer=answer)


def test_broadcasts_send_list_and_cancel(tmp_path):
    queued = broadcasts(tmp_path, "send", "--tip", "3", "--audience", "zh", "--yes")
    assert queued.returncode == 0, queued.stderr
    number = int(queued.stdout)
    assert f"broadcast {number} queued" in queued.stderr
    with sqlite3.connect(tmp_path / "data" / "refund-bot.sqlite3") as database:  # as if half delivered
        database.execute("UPDATE broadcasts SET status = 'running', recipients = 4 WHERE id = ?", (number,))
        for user, status in ((1, "sent"), (2, "dropped"), (3, "failed"), (4, "pending")):
            database.execute(
                "INSERT INTO outbox (dedupe_key, chat_id, text, priority, attempts, not_before, created_at, "
                "status, action, broadcast_id) VALUES (?, ?, 'tip', 1, 0, '2026-11-26 02:00:00', "
                "'2026-11-26 02:00:00', ?, 'send', ?)", (f"bc:{number}:{user}", user, status, number))
    [listed] = json.loads(broadcasts(tmp_path, "list", "--json").stdout)
    assert {k: listed[k] for k in ("id", "status", "source", "tip", "audience")} == {
        "id": number, "status": "running", "source": "cli", "tip": 3, "audience": "zh"}
    counts = ("recipients", "sent", "delivered", "unreachable", "failed")
    assert [listed[k] for k in counts] == [4, 3, 1, 1, 1]
    assert f"#{number}" in broadcasts(tmp_path, "list").stdout

    cancelled = broadcasts(tmp_path, "cancel", str(number))
    assert cancelled.returncode == 0 and "1 unsent message(s) dropped" in cancelled.stdout
    again = broadcasts(tmp_path, "cancel", str(number))
    assert again.returncode == 1 and "is cancelled" in again.stderr
    assert broadcasts(tmp_path, "cancel", "999").returncode == 1


def test_broadcasts_send_shows_the_preview_and_asks(tmp_path):
    (tmp_path / "en.txt").write_text("Check twice <b>before</b> paying\r\n", encoding="utf-8")
    (tmp_path / "zh.txt").write_text("付款前请再确认一次\n", encoding="utf-8")
    files = ("--text-file", "en.txt", "--text-file-zh", "zh.txt")
    declined = broadcasts(tmp_path, "send", *files, answer="n\n")
    assert declined.returncode == 1 and "nothing queued" in declined.stderr
    preview = declined.stdout.splitlines()
    assert preview[:3] == ["--- en: 0 subscriber(s) ---", "Check twice <b>before</b> paying", "[ Stop tips ]"]
    assert preview[4:6] == ["付款前请再确认一次", "[ 不再接收小贴士 ]"]  # exactly as sent: plain text
    assert json.loads(broadcasts(tmp_path, "list", "--json").stdout) == []

    accepted = broadcasts(tmp_path, "send", *files, answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    number = int(accepted.stdout.splitlines()[-1])
    with sqlite3.connect(tmp_path / "data" / "refund-bot.sqlite3") as database:
        query = "SELECT text_en, text_zh, status FROM broadcasts WHERE id = ?"
        row = database.execute(query, (number,)).fetchone()
    assert row == ("Check twice <b>before</b> paying", "付款前请再确认一次", "scheduled")


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("--tip", "9"), "--tip 9: the library has tips 1 to 8"),
        ((), "give either --tip N or --text-file FILE"),
        (("--text-file", "empty.txt"), "empty.txt: That text is empty"),
        (("--tip", "1", "--at", "2020-01-01 09:00"), "already passed in Asia/Shanghai"),
    ],
)
def test_broadcasts_send_refusals_are_one_line_and_exit_2(tmp_path, arguments, said):
    (tmp_path / "en.txt").write_text("tip", encoding="utf-8")
    (tmp_path / "empty.txt").write_text(" \n", encoding="utf-8")
    result = broadcasts(tmp_path, "send", *arguments, "--yes")
    assert result.returncode == 2 and result.stdout == ""
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
