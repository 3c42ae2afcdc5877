"""aiogram: long polling or Telegram's webhook (BOT_MODE), started, run, and stopped gracefully."""

import asyncio
import contextlib
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.aiogram_runtime.routers import refund_bot_router
from bot.runners.embedded import RefundBot
from bot.webhook import WebhookIntake, intake_for, serve_webhook, stop_on_signals
from bot.wiring import Services

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
CONCURRENT_UPDATES = 64
POLLING_TIMEOUT = 10
STOP_RETRY_SECONDS = 0.01


def make_bot(services: Services) -> Bot:
    """An aiogram Bot talking to TELEGRAM_API_BASE."""
    settings = services.settings
    api = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    return Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))


class AiogramRunner:
    """Runs long polling, or serves the webhook, until stopped (by a signal, or by `stop()`)."""

    def __init__(self, services: Services):
        self.services = services
        self.bot = make_bot(services)
        self.refund = RefundBot(services=services)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(refund_bot_router(self.refund))
        self._stopping = asyncio.Event()
        self.refund.intake = intake_for(services.settings, services.db)

    async def run(self, *, handle_signals: bool = True) -> None:
        """Poll (or serve the webhook) until SIGTERM/SIGINT (or `stop()`, even one asked before it began);
        the updates in hand are finished first."""
        if self._stopping.is_set():
            return
        if self.refund.intake is not None:
            await self._serve_webhook(self.refund.intake, handle_signals)
            return
        await self.bot.delete_webhook(drop_pending_updates=False)
        polling = asyncio.create_task(self.dispatcher.start_polling(
            self.bot,
            handle_signals=handle_signals,
            allowed_updates=ALLOWED_UPDATES,
            tasks_concurrency_limit=CONCURRENT_UPDATES,
            polling_timeout=POLLING_TIMEOUT,
        ))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
            while not polling.done():
                try:
                    await self.dispatcher.stop_polling()
                except RuntimeError:  # "Polling is not started" yet: it is about to be
                    await asyncio.sleep(STOP_RETRY_SECONDS)
            await polling
        finally:
            stopping.cancel()
            polling.cancel()

    async def _serve_webhook(self, intake: WebhookIntake, handle_signals: bool) -> None:
        settings = self.services.settings
        signals = stop_on_signals(self._stopping.set) if handle_signals else contextlib.nullcontext()

        async def feed(update: dict[str, Any]) -> None:
            await self.dispatcher.feed_raw_update(self.bot, update)

        try:
            await self.dispatcher.emit_startup(bot=self.bot, dispatcher=self.dispatcher)
            try:
                with signals:
                    await serve_webhook(
                        intake, feed, self.bot.set_webhook, url=settings.webhook_url,
                        secret=settings.webhook_secret.get_secret_value(),
                        max_connections=settings.webhook_max_connections, stopping=self._stopping)
            finally:
                await self.dispatcher.emit_shutdown(bot=self.bot, dispatcher=self.dispatcher)
        finally:
            await self.bot.session.close()

    async def stop(self) -> None:
        """Stop polling from inside the process (remembered if polling has not begun yet)."""
        self._stopping.set()

    async def drain(self, timeout: float) -> bool:
        """Wait for the updates in hand; False if some were still running at the timeout."""
        return await self.refund.in_flight.drained(timeout)
