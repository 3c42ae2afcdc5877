"""End-to-end fixtures: the real runtimes (aiogram and PTB) talking HTTP to the project's Telegram sandbox.

Every test that runs on both runtimes has what the bot sent recorded at its end; the second runtime's run of
a scenario fails at teardown if it sent something else than the first (tests/e2e/transcripts.py).
"""

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot import scheduler
from bot.aiogram_runtime.app import AiogramRunner
from bot.config import load_settings
from bot.runners import Runner, runner_factory
from bot.wiring import Services, build_services
from handlers.money import Money
from storage.models import OutboxMessage, OutboxStatus
from storage.payer_links import link_payers
from storage.transactions import save_transactions
from telegram_sandbox.client import SandboxClient, button_data
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import POSTGRES_URL, emptied_postgres, migrated_sqlite_file
from tests.doubles import Clock
from tests.e2e.transcripts import Transcript, check_same, read_transcript, without_chats
from tests.sandbox.helpers import sandbox_session

TOKEN = "424242:sandbox-secret-token"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 16:00 in Asia/Shanghai
# The sweeps and the outbox drain tick this often here (every second or more in production), so a test
# that moved the clock or caused a message waits milliseconds, not a second, for the bot to notice.
QUICK_TICK = timedelta(milliseconds=100)
WEBHOOK_SECRET = "sandbox_webhook-secret"
WEBHOOK_RETRY = 0.05  # seconds before the sandbox retries a refused webhook POST


# A test whose bot sends in an order that legitimately varies within a chat (a race it provokes) compares
# each chat's messages as a multiset; one that kills the bot mid-send counts a message repeated in a row once
# (the one in flight may go out twice).
ANY_ORDER = "transcript_in_any_order"
AT_LEAST_ONCE = "transcript_at_least_once"
# A test whose own race decides what one chat gets names that chat (and why): its other chats are compared.
SKIPPED_CHATS = "transcript_skips_chats"
TRANSCRIPTS = pytest.StashKey[dict[tuple, dict[str, Transcript | None]]]()
CALL_PASSED = pytest.StashKey[bool]()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", f"{ANY_ORDER}: compare the runtimes' messages per chat in any order")
    config.addinivalue_line("markers", f"{AT_LEAST_ONCE}: a message the bot repeated in a row counts once")
    config.addinivalue_line("markers", f"{SKIPPED_CHATS}(*chat_ids, reason): leave these chats uncompared")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed
    return report


def scenario_of(item) -> tuple | None:
    """The test's node id without its runtime (None: the test does not run on both runtimes)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "runtime" not in callspec.params:
        return None
    others = tuple(sorted((name, index) for name, index in callspec.indices.items() if name != "runtime"))
    return item.nodeid.split("[", 1)[0], others


async def compare_runtimes(item, sandbox_url: str) -> None:
    """Record what the bot sent in this run; when both runtimes' runs passed, they must have sent the same."""
    scenario = scenario_of(item)
    if scenario is None:
        return
    runtime = item.callspec.params["runtime"]
    transcript = None
    if item.stash.get(CALL_PASSED, False):  # a failed run's transcript is cut short: nothing to compare
        async with SandboxClient(sandbox_url) as reader:
            transcript = await read_transcript(reader)
    runs = item.config.stash.setdefault(TRANSCRIPTS, {}).setdefault(scenario, {})
    runs[runtime] = transcript
    if len(runs) < 2:
        return
    item.config.stash[TRANSCRIPTS].pop(scenario)
    if all(run is not None for run in runs.values()):
        skipped = item.get_closest_marker(SKIPPED_CHATS)
        ordered = {name: without_chats(runs[name], skipped.args if skipped else ()) for name in sorted(runs)}
        check_same(item.nodeid, ordered, any_order=item.get_closest_marker(ANY_ORDER) is not None,
                   at_least_once=item.get_closest_marker(AT_LEAST_ONCE) is not None,
                   real_clock="harness" not in item.fixturenames)  # `refund-bot run` keeps real time


@pytest.fixture(autouse=True)
def _quick_ticks(monkeypatch) -> None:
    monkeypatch.setattr(scheduler, "DELIVERY_TICK", QUICK_TICK)


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (40, 60)) -> bytes:
    """A small real image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


@dataclass
class RunningBot:
    """The bot process under test, in this event loop."""

    services: Services
    runner: Runner
    task: asyncio.Task

    async def stop(self) -> None:
        await self.runner.stop()
        await asyncio.wait_for(self.task, 15)


class BotHarness:
    """Starts and stops the real bot against the sandbox; restarts keep the same database."""

    def __init__(self, sandbox_url: str, data_dir: Path, database_url: str, engine_options: dict,
                 runtime: str = "aiogram"):
        self.sandbox_url, self.data_dir, self.runtime = sandbox_url, data_dir, runtime
        self.database_url, self.engine_options = database_url, engine_options
        self.clock = Clock(NOW)
        self.running: RunningBot | None = None
        self.overrides: dict = {"quiet_hours": "off", "sweep_interval": QUICK_TICK}
        self.webhook_url = ""

    def serve_webhook(self) -> None:
        """Start in BOT_MODE=webhook from now on, serving HTTP on a free local port the sandbox posts to."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.webhook_url = f"http://127.0.0.1:{port}/telegram/webhook"
        self.overrides.update(bot_mode="webhook", webhook_url=self.webhook_url, webhook_secret=WEBHOOK_SECRET,
                              http_host="127.0.0.1", http_port=port)

    async def start(self) -> RunningBot:
        settings = load_settings(
            bot_token=TOKEN, telegram_api_base=self.sandbox_url, data_dir=self.data_dir,
            database_url=self.database_url, timezone="Asia/Shanghai", default_currency="CNY",
            **self.overrides,
        )
        services = await build_services(settings, clock=self.clock,
                                        engine_options=self.engine_options)
        runner = runner_factory(self.runtime)(services)
        if isinstance(runner, AiogramRunner):
            runner.bot.session = sandbox_session(self.sandbox_url)
        task = asyncio.create_task(runner.run(handle_signals=False))
        self.running = RunningBot(services, runner, task)
        return self.running

    async def settle(self, timeout: float = 3.0) -> None:
        """Let the outbox send what is due, so what a test leaves behind does not depend on timing."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            async with self.running.services.db.transaction() as session:
                due = await session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                        OutboxMessage.not_before <= self.clock()))
            if not due:
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.running:
            await self.running.stop()
            await self.running.services.close()
            self.running = None

    async def import_charges(
        self, *rows: tuple[str, str, str, str, str, datetime], payer: tuple[str, int] | None = None
    ) -> None:
        """Charges as (transaction_id, order_id, amount, currency, status, created_at).

        With `payer` (payer id, Telegram user id) the records name that payer and link that user to it;
        without, they name no payer.
        """
        payer_id = payer[0] if payer else ""
        records = [
            {"transaction_id": t, "order_id": o, "payer_id": payer_id, "currency": c, "status": s,
             "amount_minor": Money(Decimal(a), c).minor, "created_at": at}
            for t, o, a, c, s, at in rows
        ]
        async with self.running.services.db.transaction() as session:
            await save_transactions(session, rows=records)
            if payer:
                await link_payers(session, links=[payer], source="records", now=NOW)


@pytest.fixture
async def sandbox(request) -> AsyncIterator[TelegramSandbox]:
    """The sandbox; at the end, once the bot has stopped, the runtimes' transcripts are compared."""
    server = TelegramSandbox(token=TOKEN)
    await server.start()
    try:
        yield server
        await compare_runtimes(request.node, server.url)
    finally:
        await server.stop()


@pytest.fixture(params=["aiogram", "ptb"])
def runtime(request) -> str:
    """The runtime the bot under test runs on: every end-to-end test runs on both."""
    return request.param


@pytest.fixture(params=["sqlite"])
async def harness(request, sandbox, tmp_path, runtime) -> AsyncIterator[BotHarness]:
    """The bot on SQLite (and, where a test asks for it, on PostgreSQL or in webhook mode on SQLite), its
    database already migrated."""
    if request.param == "postgresql":
        pg = await emptied_postgres()
        bot = BotHarness(sandbox.url, tmp_path / "data", POSTGRES_URL, pg.engine_options(), runtime)
    else:
        path = await migrated_sqlite_file(tmp_path / "data" / "bot.sqlite3")
        bot = BotHarness(sandbox.url, tmp_path / "data", f"sqlite+aiosqlite:///{path}", {}, runtime)
    if request.param == "webhook":
        bot.serve_webhook()
        sandbox.state.webhook.retry_delay = WEBHOOK_RETRY
    await bot.start()
    yield bot
    if bot.running:
        await bot.settle()  # then the transcripts of the two runtimes compare what the test caused
    await bot.stop()


class Payer:
    """A person in a private chat with the bot."""

    def __init__(self, client: SandboxClient, user_id: int, language_code: str = "en",
                 first_name: str = "Ann"):
        self.client, self.id = client, user_id
        self.language_code, self.first_name = language_code, first_name

    async def join(self) -> "Payer":
        await self.client.create_user(self.id, first_name=self.first_name,
                                      language_code=self.language_code)
        return self

    async def _replies(self, sent: dict, count: int) -> list[dict]:
        message_id = sent["message"]["message_id"]
        return await self.client.wait_for_bot_messages(self.id, after_message_id=message_id,
                                                       count=count, timeout=15)

    async def say(self, text: str, count: int = 1, **options) -> list[dict]:
        """Send a text and return the bot's replies to it."""
        return await self._replies(await self.client.send_text(self.id, text, **options), count)

    async def ask(self, text: str, **options) -> dict:
        """Send a text and return the one reply."""
        return (await self.say(text, **options))[-1]

    async def photo(self, data: bytes, count: int = 1, **options) -> list[dict]:
        return await self._replies(await self.client.send_photo(self.id, data, **options), count)

    async def document(self, data: bytes, name: str, mime: str, count: int = 1, **options) -> list[dict]:
        sent = await self.client.send_document(self.id, data, name, mime, **options)
        return await self._replies(sent, count)

    async def other(self, kind: str) -> dict:
        return (await self._replies(await self.client.send_other(self.id, kind), 1))[-1]

    async def press(self, message: dict, label: str, count: int = 1) -> list[dict]:
        """Tap the button whose label contains `label` on a bot message."""
        before = await self.last_message_id()
        await self.client.press(self.id, message["message_id"], button_data(message, label))
        return await self.client.wait_for_bot_messages(self.id, after_message_id=before, count=count,
                                                       timeout=15)

    async def last_message_id(self) -> int:
        messages = await self.client.messages(self.id)
        return max((m["message_id"] for m in messages), default=0)

    async def bot_texts(self) -> list[str]:
        """Every text the bot has sent in this chat so far."""
        messages = await self.client.messages(self.id)
        return [m.get("text", "") for m in messages if m.get("from", {}).get("is_bot")]


@pytest.fixture
async def payer(client) -> Payer:
    return await Payer(client, 1001).join()
