"""The operator contract: `refund-bot` commands on a real SQLite file."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox

CLI = str(Path(sys.executable).with_name("refund-bot"))
HEADER = "transaction_id,order_id,payer_id,amount,currency,status,created_at\n"


def run(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
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


@pytest.mark.parametrize("content", ["", "order,amount\n1,2\n"])
def test_a_file_without_the_header_is_refused(tmp_path, content):
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(content)
    result = run(tmp_path, "import-transactions", str(csv_file), "--no-progress")
    assert result.returncode == 1 and ":1: the" in result.stderr


def test_missing_file(tmp_path):
    result = run(tmp_path, "import-transactions", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


async def test_a_runtime_without_a_runner_is_one_clear_line_and_exit_2(tmp_path):
    token = "123456:sandbox-token"
    async with TelegramSandbox(token=token) as sandbox:  # whatever start-up checks ask Telegram, it answers
        environment = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        environment.update({"BOT_TOKEN": token, "TELEGRAM_API_BASE": sandbox.url, "BOT_RUNTIME": "ptb",
                            "DATA_DIR": str(tmp_path / "data")})
        process = await asyncio.create_subprocess_exec(
            CLI, "run", cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        async with SandboxClient(sandbox.url) as client:
            polls = await client.calls("getUpdates")
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert lines[-1] == "refund-bot: BOT_RUNTIME=ptb is not available yet; use aiogram"
    assert "Traceback" not in stderr.decode()
    assert polls == []  # no runner was started
