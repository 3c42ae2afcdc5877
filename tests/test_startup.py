"""`refund-bot run` checks the token, Telegram, the support group and the database before anything starts:
each problem is one line on stderr naming the setting, exit code 2, no traceback, the token never shown."""

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.startup_checks import StartUpProblem, run_checks

CLI = str(Path(sys.executable).with_name("refund-bot"))
TOKEN = "424242:sandbox-secret-token"
GROUP = -100555
OPERATOR_VARIABLES = ("BOT_TOKEN", "TELEGRAM_API_BASE", "DATABASE_URL", "SUPPORT_CHAT_ID", "DATA_DIR")




def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run_bot(tmp_path: Path, **variables: str) -> tuple[int, str]:
    """`refund-bot run` with only these settings; its exit code and everything it printed."""
    environment = {k: v for k, v in os.environ.items() if k not in OPERATOR_VARIABLES}
    environment.update({"DATA_DIR": str(tmp_path / "data"), **variables})
    process = await asyncio.create_subprocess_exec(
        CLI, "run", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, (stdout + stderr).decode()


def assert_one_clear_line(tmp_path: Path, code: int, output: str, *secrets: str) -> str:
    """Exit 2, a single line, no traceback or session noise, no secret, and the database left untouched."""
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1, output
    assert "Traceback" not in output and "Unclosed" not in output
    for secret in secrets:
        assert secret not in output
    assert not (tmp_path / "data" / "refund-bot.sqlite3").exists()  # checked before migrating
    return output.strip()


async def test_a_malformed_token_is_named_before_anything_starts(tmp_path, sandbox):
    code, output = await run_bot(tmp_path, BOT_TOKEN="my bot token/with-bad chars",
                                 TELEGRAM_API_BASE=sandbox.url)
    line = assert_one_clear_line(tmp_path, code, output, "bad chars")
    assert line.startswith("refund-bot: BOT_TOKEN does not look like a bot token")
    assert sandbox.state.calls == []  # Telegram was not even asked


async def test_a_token_telegram_refuses_is_one_line(tmp_path, sandbox):
    code, output = await run_bot(tmp_path, BOT_TOKEN="777:not-known-here", TELEGRAM_API_BASE=sandbox.url)
    line = assert_one_clear_line(tmp_path, code, output, "not-known-here")
    assert line == "refund-bot: BOT_TOKEN was refused by Telegram (401)"


async def test_an_unreachable_api_base_is_named(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}"
    code, output = await run_bot(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=base)
    line = assert_one_clear_line(tmp_path, code, output, TOKEN.split(":")[1])
    assert line.startswith(f"refund-bot: TELEGRAM_API_BASE {base} cannot be reached (")


async def test_an_unreachable_database_is_named_without_its_password(tmp_path, sandbox):
    url = f"postgresql+asyncpg://refunds:pw-do-not-show@127.0.0.1:{closed_port()}/refunds"
    code, output = await run_bot(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=sandbox.url, DATABASE_URL=url)
    line = assert_one_clear_line(tmp_path, code, output, "pw-do-not-show", TOKEN.split(":")[1])
    shown = url.replace("pw-do-not-show", "***")
    assert line.startswith(f"refund-bot: DATABASE_URL {shown} cannot be reached (")


async def test_a_support_group_the_bot_does_not_administer_is_named(tmp_path, sandbox, client):
    await client.create_user(501, first_name="Alice")
    await client.create_group(GROUP, "Support", member_ids=[501], bot_status="member")
    code, output = await run_bot(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=sandbox.url,
                                 SUPPORT_CHAT_ID=str(GROUP))
    line = assert_one_clear_line(tmp_path, code, output, TOKEN.split(":")[1])
    assert line.startswith(f"refund-bot: SUPPORT_CHAT_ID {GROUP}: the bot is not an administrator")


async def test_a_support_group_the_bot_is_not_in_is_named(tmp_path, sandbox):
    settings = load_settings(bot_token=TOKEN, telegram_api_base=sandbox.url, support_chat_id=GROUP,
                             data_dir=tmp_path / "data")
    with pytest.raises(StartUpProblem, match=rf"^SUPPORT_CHAT_ID {GROUP}: .*chat not found"):
        await run_checks(settings)


async def test_everything_in_place_passes(tmp_path, sandbox, client):
    await client.create_user(501, first_name="Alice")
    await client.create_group(GROUP, "Support", member_ids=[501])
    settings = load_settings(bot_token=TOKEN, telegram_api_base=sandbox.url, support_chat_id=GROUP,
                             data_dir=tmp_path / "data")
    await run_checks(settings)
    assert [call["method"] for call in sandbox.state.calls] == ["getMe", "getChatMember"]
