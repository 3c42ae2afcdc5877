"""The refund bot added to a merchant's own python-telegram-bot Application, in one call."""

from typing import Any

from telegram.ext import Application

from bot.config import Settings
from bot.ptb_runtime.handlers import RefundHandlers
from bot.runners.embedded import RefundBot
from bot.wiring import Services


def add_refund_handlers(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    group: int = 0,
) -> RefundHandlers:
    """Add the refund bot's handler to `application` (after the handlers already in `group`), and start and
    stop it with the Application's run_polling/run_webhook (chained to any post_init, post_stop and
    post_shutdown).

    With `settings`, the database is opened (and migrated) in the Application's own event loop at start-up.
    """
    refund_handlers = RefundHandlers(application, RefundBot(settings, services=services))
    application.add_handler(refund_handlers.handler, group)
    earlier_init, earlier_stop = application.post_init, application.post_stop
    earlier_shutdown = application.post_shutdown

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if earlier_init is not None:
            await earlier_init(app)
        await refund_handlers.start()

    async def post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await refund_handlers.stop()
        if earlier_stop is not None:
            await earlier_stop(app)

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        # PTB calls no post_stop when the Application never started (stop_running() in a post_init, or
        # polling failed to start): closed here then; after a post_stop this closes nothing more.
        await refund_handlers.stop()
        if earlier_shutdown is not None:
            await earlier_shutdown(app)

    application.post_init, application.post_stop = post_init, post_stop
    application.post_shutdown = post_shutdown
    return refund_handlers
