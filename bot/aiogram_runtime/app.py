"""Long polling with aiogram: start, run, and stop gracefully."""

import logging
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BotCommand

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.aiogram_runtime.render import AiogramFiles
from bot.aiogram_runtime.routers import payer_router, support_router
from bot.in_flight import InFlight
from bot.scheduler import Ticker
from bot.wiring import Services
from handlers.durations import parse_duration

log = logging.getLogger(__name__)
DEFAULT_SWEEP = timedelta(seconds=30)
SHUTDOWN_GRACE_SECONDS = 5
COMMANDS = {
    "en": {
        "report": "Report a duplicate charge",
        "status": "My refunds",
        "help": "Help",
        "language": "Language",
        "cancel": "Cancel the current report",
    },
    "zh": {
        "report": "报告重复扣款",
        "status": "我的退款",
        "help": "帮助",
        "language": "语言",
        "cancel": "取消当前报告",
    },
}


def make_bot(services: Services) -> Bot:
    """An aiogram Bot talking to TELEGRAM_API_BASE."""
    settings = services.settings
    api = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    return Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))


def make_dispatcher(
    services: Services, bot: Bot, ticker: Ticker | None = None
) -> tuple[Dispatcher, InFlight]:
    """The dispatcher with one router per audience; the clock ticks while it polls."""
    in_flight = InFlight()
    dispatcher = Dispatcher()
    support = services.support_settings()
    if support.chat_id is not None:
        dispatcher.include_router(support_router(services.support_desk(), support.chat_id, in_flight))
    dispatcher.include_router(payer_router(services.payer_desk(AiogramFiles(bot)), in_flight))

    @dispatcher.startup()
    async def announce_commands(bot: Bot) -> None:
        for language, commands in COMMANDS.items():
            menu = [BotCommand(command=c, description=d) for c, d in commands.items()]
            await bot.set_my_commands(menu, language_code=None if language == "en" else language)
        if support.chat_id is not None:
            support.topics = await _has_topics(bot, support.chat_id)
        if ticker:
            ticker.start()

    @dispatcher.shutdown()
    async def finish_updates_in_hand() -> None:
        if ticker:
            ticker.stop()
        if not await in_flight.drained(SHUTDOWN_GRACE_SECONDS):
            log.warning("stopped with updates still in hand; they will be redelivered")

    return dispatcher, in_flight


async def _has_topics(bot: Bot, chat_id: int) -> bool:
    """Whether the support group has topics enabled (each ticket then gets its own)."""
    try:
        chat = await bot.get_chat(chat_id)
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        log.warning("support group %s is not reachable (%s); cards go nowhere until it is", chat_id, error)
        return False
    return bool(chat.is_forum)


class AiogramRunner:
    """Runs long polling until stopped (by a signal, or by `stop()`)."""

    def __init__(self, services: Services):
        self.services = services
        self.bot = make_bot(services)
        self.delivery = services.delivery(AiogramMessenger(self.bot))
        self.ticker = Ticker(
            services.follow_ups(),
            self.delivery,
            parse_duration(services.settings.sweep_interval) or DEFAULT_SWEEP,
            services.support_desk(),
            pruner=services.pruner(),
            evidence_gc=services.evidence_collector(),
        )
        self.dispatcher, self.in_flight = make_dispatcher(services, self.bot, self.ticker)

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
