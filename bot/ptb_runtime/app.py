"""python-telegram-bot: long polling or Telegram's webhook (BOT_MODE), started, run, stopped gracefully."""

import asyncio
import contextlib
import logging
import os
from http import HTTPStatus
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackContext
from telegram.request import HTTPXRequest

from bot.ptb_runtime.handlers import RefundHandlers
from bot.runners.embedded import RefundBot
from bot.webhook import WebhookIntake, intake_for, serve_webhook, stop_on_signals
from bot.wiring import Services

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# PTB handles one update at a time unless told otherwise; aiogram's runner handles up to 64 at once.
CONCURRENT_UPDATES = 64
CONNECTION_POOL = 256  # PTB's own default, written out: every concurrent update may hold a connection
POOL_TIMEOUT = 10.0  # PTB waits 1 s for a free connection by default, then fails the call
POLLING_TIMEOUT = 10


class PollingRequest(HTTPXRequest):
    """getUpdates' connection. PTB ends its polling for good on a 401 or 404 (InvalidToken), leaving the
    process alive and deaf; aiogram retries. A passing refusal (a proxy's, Telegram's) is retried here too."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """The HTTP status and body; a refusal of the token as a server error, with Telegram's description."""
        code, payload = await super().do_request(*args, **kwargs)
        refused = code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND)
        return (HTTPStatus.SERVICE_UNAVAILABLE if refused else code), payload


def make_application(services: Services) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application talking to TELEGRAM_API_BASE, handling updates concurrently, without a JobQueue."""
    settings = services.settings
    base = settings.telegram_api_base.rstrip("/")
    # PTB 22 warns on every 429 it parses unless its durations are timedeltas already (PTB 23's type)
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(CONCURRENT_UPDATES)
        .connection_pool_size(CONNECTION_POOL)
        .pool_timeout(POOL_TIMEOUT)
        .get_updates_request(PollingRequest())
        .job_queue(None)  # the Ticker is the clock
        .build()
    )


async def log_failure(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """An update whose handling failed: logged (redacted by the log handlers) and left behind."""
    update_id = getattr(update, "update_id", None)
    log.error("update %s failed", update_id, exc_info=context.error)


class PtbRunner:
    """Runs long polling, or serves the webhook, until stopped (by a signal, or by `stop()`)."""

    def __init__(self, services: Services):
        self.services = services
        self.application = make_application(services)
        self.refund = RefundBot(services=services)
        self.handlers = RefundHandlers(self.application, self.refund)
        self.application.add_handler(self.handlers.handler)
        self.application.add_error_handler(log_failure)
        self._stopping = asyncio.Event()
        self.refund.intake = intake_for(services.settings, services.db)

    async def run(self, *, handle_signals: bool = True) -> None:
        """Poll (or serve the webhook) until SIGTERM/SIGINT (or `stop()`); the updates in hand are finished
        first."""
        application = self.application
        signals = stop_on_signals(self._stopping.set) if handle_signals else contextlib.nullcontext()
        async with application:  # initialize (getMe) ... shutdown
            await self.handlers.start()
            try:
                await application.start()
                if self.refund.intake is not None:
                    with signals:
                        await self._serve_webhook(self.refund.intake)
                    return
                await application.updater.start_polling(
                    allowed_updates=ALLOWED_UPDATES, timeout=POLLING_TIMEOUT, drop_pending_updates=False
                )
                with signals:
                    await self._stopping.wait()
            finally:
                try:
                    if application.updater.running:
                        await application.updater.stop()  # raises what ended its polling, if anything did
                finally:
                    if application.running:
                        await application.stop()  # handles the updates already fetched
                    await self.handlers.stop()

    async def _serve_webhook(self, intake: WebhookIntake) -> None:
        settings, application = self.services.settings, self.application

        async def feed(update: dict[str, Any]) -> None:
            await application.process_update(Update.de_json(update, application.bot))

        await serve_webhook(
            intake, feed, application.bot.set_webhook, url=settings.webhook_url,
            secret=settings.webhook_secret.get_secret_value(),
            max_connections=settings.webhook_max_connections, stopping=self._stopping)

    async def stop(self) -> None:
        """Stop polling from inside the process."""
        self._stopping.set()

    async def drain(self, timeout: float) -> bool:
        """Wait for the updates in hand; False if some were still running at the timeout."""
        return await self.refund.in_flight.drained(timeout)
