"""A merchant's own aiogram bot with the refund bot included in its Dispatcher.

    BOT_TOKEN=... [TELEGRAM_API_BASE=...] [SUPPORT_CHAT_ID=...] python aiogram_bot_with_refunds.py

The refund bot reads the rest of its settings (DATABASE_URL, DATA_DIR, ...) from the environment or .env.
"""

import logging
import os

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Message

from bot.aiogram_runtime.embedding import refund_router
from bot.config import load_settings
from bot.log_redaction import redact_secrets

TOKEN = os.environ["BOT_TOKEN"]
API_BASE = os.environ.get("TELEGRAM_API_BASE", "https://api.telegram.org")

shop = Router(name="shop")


@shop.message(Command("shop"))
async def show_shop(message: Message) -> None:
    """The merchant's own command."""
    await message.answer("Welcome to the shop! Today: green tea, 99 CNY.")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(bot_token=TOKEN)  # the same bot's token
    redact_secrets(TOKEN, settings.link_secret.get_secret_value())

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(API_BASE)))
    dispatcher = Dispatcher()
    dispatcher.include_router(shop)  # the merchant's handlers first
    dispatcher.include_router(refund_router(settings))  # then the refund bot: payers' private chats, support
    # The update types every router uses, the refund bot's my_chat_member (a payer blocked the bot) included.
    dispatcher.run_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())


if __name__ == "__main__":
    main()
