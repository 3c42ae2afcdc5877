"""Long polling with aiogram: start, run, and stop gracefully."""

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.aiogram_runtime.render import AiogramFiles
from bot.aiogram_runtime.routers import payer_router, support_router
from bot.in_flight import InFlight
from bot.runners.shared import TelegramShell, build_ticker, shut_down, start_up
from bot.scheduler import Ticker
from bot.wiring import Services


def make_bot(services: Services) -> Bot:
    """An aiogram Bot talking to TELEGRAM_API_BASE."""
    settings = services.settings
    api = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    return Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))


def make_dispatcher(
    services: Services, bot: Bot, shell: TelegramShell, in_flight: InFlight, ticker: Ticker | None = None
) -> Dispatcher:
    """The dispatcher with one router per audience; the shared start-up and shutdown hooked to its own."""
    dispatcher = Dispatcher()
    support = services.support_settings()
    if support.chat_id is not None:
        dispatcher.include_router(support_router(services.support_desk(), support.chat_id, in_flight))
    dispatcher.include_router(payer_router(services.payer_desk(AiogramFiles(bot)), in_flight))

    @dispatcher.startup()
    async def on_startup() -> None:
        await start_up(services, shell, ticker)

    @dispatcher.shutdown()
    async def on_shutdown() -> None:
        await shut_down(ticker, in_flight)

    return dispatcher


class AiogramRunner:
    """Runs long polling until stopped (by a signal, or by `stop()`)."""

    def __init__(self, services: Services):
        self.services = services
        self.bot = make_bot(services)
        messenger = AiogramMessenger(self.bot)
        self.ticker = build_ticker(services, messenger)
        self.in_flight = InFlight()
        self.dispatcher = make_dispatcher(services, self.bot, messenger, self.in_flight, self.ticker)

    async def run(self, *, handle_signals: bool = True) -> None:
        """Poll until SIGTERM/SIGINT (or `stop()`); the update in hand is finished first."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(
            self.bot,
            handle_signals=handle_signals,
            allowed_updates=["message", "callback_query", "my_chat_member"],
            tasks_concurrency_limit=64,
            polling_timeout=10,
        )

    async def stop(self) -> None:
        """Stop polling from inside the process."""
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:
            pass  # polling had not started or has already stopped

    async def drain(self, timeout: float) -> bool:
        """Wait for the updates in hand; False if some were still running at the timeout."""
        return await self.in_flight.drained(timeout)
