"""A merchant's own python-telegram-bot Application with the refund bot's handlers added.

    BOT_TOKEN=... [TELEGRAM_API_BASE=...] [SUPPORT_CHAT_ID=...] python ptb_bot_with_refunds.py

The refund bot reads the rest of its settings (DATABASE_URL, DATA_DIR, ...) from the environment or .env.
"""

import logging
import os

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.config import load_settings
from bot.log_redaction import redact_secrets
from bot.ptb_runtime.embedding import add_refund_handlers

TOKEN = os.environ["BOT_TOKEN"]
API_BASE = os.environ.get("TELEGRAM_API_BASE", "").rstrip("/")  # unset: Telegram itself


async def show_shop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The merchant's own command."""
    await update.effective_message.reply_text("Welcome to the shop! Today: green tea, 99 CNY.")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else one line per Bot API call
    settings = load_settings(bot_token=TOKEN)  # the same bot's token
    redact_secrets(TOKEN, settings.link_secret.get_secret_value())

    # PTB handles one update at a time by default: one payer's slow step (a screenshot download, the
    # database) would hold up every other chat, so updates are handled concurrently, as `refund-bot run` does.
    builder = Application.builder().token(TOKEN).concurrent_updates(64)
    if API_BASE:
        builder = builder.base_url(f"{API_BASE}/bot").base_file_url(f"{API_BASE}/file/bot")
    application = builder.build()
    application.add_handler(CommandHandler("shop", show_shop))  # the merchant's handlers first
    add_refund_handlers(application, settings)  # then the refund bot: payers' private chats, support group
    application.run_polling(allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER])


if __name__ == "__main__":
    main()
