"""The floor: a bare aiogram bot that echoes every message and button press (same sandbox, same runtime).

Run: BOT_TOKEN=… TELEGRAM_API_BASE=… python -m benchmarks.echo_bot
"""

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "got it")

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await bot.send_message(query.from_user.id, "pressed")
        await query.answer()

    await dispatcher.start_polling(bot, tasks_concurrency_limit=64, polling_timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
