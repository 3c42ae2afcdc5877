"""The floor for the PTB runtime: a bare python-telegram-bot echo bot, configurable setting by setting.

Run: BOT_TOKEN=… TELEGRAM_API_BASE=… python -m benchmarks.echo_bot_ptb [flags]
Without flags it is the tutorial bot: Application.builder().token(…).build(), then run_polling().
`--preset runner` configures it as bot/ptb_runtime/app.py does; each other flag changes one setting
(a flag given with --preset overrides the preset's value).
"""

import argparse
import os
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

Context = CallbackContext[Any, Any, Any, Any]


async def echo(update: Update, context: Context) -> None:
    """Send the text back, or "got it" for anything else (a photo)."""
    message = update.effective_message
    if message is not None:
        await message.chat.send_message(message.text or "got it")


async def pressed(update: Update, context: Context) -> None:
    """A button press: "pressed" to the user, then answer the query."""
    query = update.callback_query
    if query is not None:
        await context.bot.send_message(query.from_user.id, "pressed")
        await query.answer()


def concurrency(value: str) -> bool | int:
    """--concurrent-updates: off (PTB's default, one at a time), on (PTB's 256), or a number."""
    if value in ("off", "on"):
        return value == "on"
    return int(value)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Each flag left out keeps PTB's default (or the preset's)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", choices=["defaults", "runner"], default="defaults")
    parser.add_argument("--concurrent-updates", type=concurrency)
    parser.add_argument("--pool-size", type=int, help="connection_pool_size (PTB: 256)")
    parser.add_argument("--pool-timeout", type=float, help="seconds to wait for a free connection (PTB: 1)")
    parser.add_argument("--rate-limiter", action="store_true", help="AIORateLimiter() with its defaults")
    parser.add_argument("--poll-timeout", type=float, help="getUpdates long-poll timeout (PTB: 10)")
    parser.add_argument("--limit", type=int, help="getUpdates limit (Telegram: 100)")
    parser.add_argument("--no-job-queue", action="store_true")
    arguments = parser.parse_args(argv)
    if arguments.preset == "runner":
        apply_runner_preset(arguments)
    return arguments


def apply_runner_preset(arguments: argparse.Namespace) -> None:
    """Fill the settings not given on the command line with make_application's."""
    from bot.ptb_runtime import app  # the constants only; imported here to keep the default bot bare

    preset = {"concurrent_updates": app.CONCURRENT_UPDATES, "pool_size": app.CONNECTION_POOL,
              "pool_timeout": app.POOL_TIMEOUT, "poll_timeout": float(app.POLLING_TIMEOUT)}
    for name, value in preset.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    arguments.no_job_queue = True


def limited_bot_class(limit: int) -> type[ExtBot[Any]]:
    """An ExtBot whose getUpdates asks for at most `limit` updates (the Updater never passes a limit)."""

    class LimitedBot(ExtBot[Any]):
        async def get_updates(self, *args: Any, **kwargs: Any) -> Any:  # the Updater passes keywords
            kwargs["limit"] = kwargs.get("limit") or limit
            return await super().get_updates(*args, **kwargs)

    return LimitedBot


def build(arguments: argparse.Namespace) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application as the flags describe it; PTB's defaults for everything left out."""
    api = os.environ["TELEGRAM_API_BASE"].rstrip("/")
    token = os.environ["BOT_TOKEN"]
    rate_limiter = AIORateLimiter() if arguments.rate_limiter else None
    builder: Any = ApplicationBuilder()
    if arguments.limit is None:
        builder = builder.token(token).base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
        if arguments.pool_size is not None:
            builder = builder.connection_pool_size(arguments.pool_size)
        if arguments.pool_timeout is not None:
            builder = builder.pool_timeout(arguments.pool_timeout)
        if rate_limiter is not None:
            builder = builder.rate_limiter(rate_limiter)
    else:  # the builder cannot change getUpdates' limit: hand it a bot that does
        request: dict[str, Any] = {"connection_pool_size": arguments.pool_size or 256}
        if arguments.pool_timeout is not None:
            request["pool_timeout"] = arguments.pool_timeout
        bot = limited_bot_class(arguments.limit)(
            token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(**request), get_updates_request=HTTPXRequest(connection_pool_size=1),
            rate_limiter=rate_limiter,
        )
        builder = builder.bot(bot)
    if arguments.concurrent_updates is not None:
        builder = builder.concurrent_updates(arguments.concurrent_updates)
    if arguments.no_job_queue:
        builder = builder.job_queue(None)
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    return application


def main() -> None:
    arguments = parse()
    application = build(arguments)
    polling: dict[str, Any] = {}
    if arguments.poll_timeout is not None:
        polling["timeout"] = arguments.poll_timeout
    application.run_polling(**polling)


if __name__ == "__main__":
    main()
