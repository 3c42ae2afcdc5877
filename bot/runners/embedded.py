"""The refund bot inside a framework's own loop: its desks and ticker, started and stopped with that loop.

Both runtimes' handlers call the desks of a `RefundBot`; `refund-bot run` gives it the services it opened,
and a merchant's own aiogram or PTB bot gives it settings, so the services are opened in the framework's
event loop at start-up and closed at shutdown.
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from bot.config import Settings
from bot.http_api import serve_bot_http
from bot.in_flight import InFlight
from bot.runners.shared import SharedPause, TelegramShell, build_ticker, shut_down, start_up
from bot.scheduler import Ticker
from bot.webhook import WebhookIntake
from bot.wiring import Services, build_services
from handlers.payer.desk import PayerDesk
from handlers.ports import FileDownloader, Messenger
from handlers.support.desk import SupportDesk


class Outlet(Messenger, TelegramShell, Protocol):
    """A runtime's messenger, which also makes the shared start-up calls."""


class NotStarted(RuntimeError):
    """An update arrived before the framework's start-up hook opened the refund bot."""


class Turns:
    """One update at a time per chat and sender, in the order they arrived: updates are handled concurrently,
    and a payer's quick answers must not overtake each other (the order number taken as the amount)."""

    def __init__(self) -> None:
        self._locks: dict[tuple[int, int], asyncio.Lock] = {}
        self._users: Counter[tuple[int, int]] = Counter()

    @contextlib.asynccontextmanager
    async def __call__(self, chat_id: int, sender_id: int) -> AsyncIterator[None]:
        """Wait for the updates of this chat and sender that came first (enter it before any other await)."""
        key = (chat_id, sender_id)
        lock = self._locks.setdefault(key, asyncio.Lock())  # asyncio's Lock wakes its waiters in order
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class RefundBot:
    """The desks every runtime hands its updates to, and the ticker sending what they queue."""

    def __init__(self, settings: Settings | None = None, *, services: Services | None = None):
        if services is None and settings is None:
            raise ValueError("a RefundBot needs its settings or its services")
        self.settings: Settings = services.settings if services else settings  # type: ignore[union-attr]
        self.services = services
        self._opens_services = services is None
        self.in_flight = InFlight()
        self.turns = Turns()
        self.ticker: Ticker | None = None
        self._payer: PayerDesk | None = None
        self._support: SupportDesk | None = None
        self._endpoints: web.AppRunner | None = None
        self.intake: WebhookIntake | None = None  # webhook mode: a runner sets it before opening

    @property
    def support_chat_id(self) -> int | None:
        """The support group's chat id (None: the bot has no support group)."""
        return self.settings.support_chat_id

    @property
    def shared_pause(self) -> SharedPause | None:
        """The 429 pause all instances keep to (RATE_LIMIT_URL), for direct replies; None: not shared."""
        return self.services.rate_gate() if self.services is not None else None

    @property
    def payer(self) -> PayerDesk:
        """The desk of private chats."""
        if self._payer is None:
            raise NotStarted("the refund bot has not started yet")
        return self._payer

    @property
    def support(self) -> SupportDesk:
        """The desk of the support group."""
        if self._support is None:
            raise NotStarted("the refund bot has not started yet")
        return self._support

    async def open(self, outlet: Outlet, files: FileDownloader, *, tick: bool = True) -> None:
        """Open the services (unless given), build the desks, serve HTTP (the merchant endpoints when
        MERCHANT_WEBHOOK_SECRET is set, Telegram's webhook with an intake), then the menu, the topics and the
        ticker."""
        if self.services is None:
            self.services = await build_services(self.settings)
        if self.intake or self.settings.merchant_webhook_secret.get_secret_value():  # whatever the provider
            self._endpoints = await serve_bot_http(self.services, intake=self.intake,
                                                   scheduler_alive=self._scheduler_alive)
        self._payer = self.services.payer_desk(files)
        self._support = self.services.support_desk()
        self.ticker = build_ticker(self.services, outlet) if tick else None
        await start_up(self.services, outlet, self.ticker)

    def _scheduler_alive(self) -> bool | None:
        """Whether the ticker's scheduler runs (None: this bot does not tick)."""
        return self.ticker.scheduler.running if self.ticker else None

    async def close(self) -> None:
        """Stop ticking, let the updates in hand finish, stop the endpoints, close the services it opened."""
        await shut_down(self.ticker, self.in_flight)
        self.ticker = None
        if self._endpoints is not None:
            await self._endpoints.cleanup()
            self._endpoints = None
        if self._opens_services and self.services is not None:
            await self.services.close()
            self.services = None
