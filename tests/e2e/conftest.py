"""End-to-end fixtures: the real aiogram runtime talking HTTP to the project's Telegram sandbox."""

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot import scheduler
from bot.aiogram_runtime.app import AiogramRunner
from bot.config import load_settings
from bot.wiring import Services, build_services
from handlers.money import Money
from storage.payer_links import link_payers
from storage.transactions import save_transactions
from telegram_sandbox.client import SandboxClient, button_data
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import POSTGRES_URL, emptied_postgres, migrated_sqlite_file
from tests.doubles import Clock
from tests.sandbox.helpers import sandbox_session

TOKEN = "424242:sandbox-secret-token"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 16:00 in Asia/Shanghai
# The sweeps and the outbox drain tick this often here (every second or more in production), so a test
# that moved the clock or caused a message waits milliseconds, not a second, for the bot to notice.
QUICK_TICK = timedelta(milliseconds=100)


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
    runner: AiogramRunner
    task: asyncio.Task

    async def stop(self) -> None:
        await self.runner.stop()
        await asyncio.wait_for(self.task, 15)


class BotHarness:
    """Starts and stops the real bot against the sandbox; restarts keep the same database."""

    def __init__(self, sandbox_url: str, data_dir: Path, database_url: str, engine_options: dict):
        self.sandbox_url, self.data_dir = sandbox_url, data_dir
        self.database_url, self.engine_options = database_url, engine_options
        self.clock = Clock(NOW)
        self.running: RunningBot | None = None
        self.overrides: dict = {"quiet_hours": "off", "sweep_interval": QUICK_TICK}

    async def start(self) -> RunningBot:
        settings = load_settings(
            bot_token=TOKEN, telegram_api_base=self.sandbox_url, data_dir=self.data_dir,
            database_url=self.database_url, timezone="Asia/Shanghai", default_currency="CNY",
            **self.overrides,
        )
        services = await build_services(settings, clock=self.clock,
                                        engine_options=self.engine_options)
        runner = AiogramRunner(services)
        runner.bot.session = sandbox_session(self.sandbox_url)
        task = asyncio.create_task(runner.run(handle_signals=False))
        self.running = RunningBot(services, runner, task)
        return self.running

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
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    server = TelegramSandbox(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(sandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as sandbox_client:
        yield sandbox_client


@pytest.fixture(params=["sqlite"])
async def harness(request, sandbox, tmp_path) -> AsyncIterator[BotHarness]:
    """The bot on SQLite (and, where a test asks for it, on PostgreSQL), its database already migrated."""
    if request.param == "postgresql":
        pg = await emptied_postgres()
        bot = BotHarness(sandbox.url, tmp_path / "data", POSTGRES_URL, pg.engine_options())
    else:
        path = await migrated_sqlite_file(tmp_path / "data" / "bot.sqlite3")
        bot = BotHarness(sandbox.url, tmp_path / "data", f"sqlite+aiosqlite:///{path}", {})
    await bot.start()
    yield bot
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
