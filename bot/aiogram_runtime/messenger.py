"""The Messenger port over aiogram: proactive sends, with Telegram's errors mapped for the outbox."""

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter

from bot.aiogram_runtime.render import keyboard
from handlers.events import Button
from handlers.ports import RecipientUnreachable, RetryAfter


class AiogramMessenger:
    """Sends outbox messages through the bot."""

    def __init__(self, bot: Bot):
        self.bot = bot

    async def send(self, chat_id: int, text: str, buttons: tuple[tuple[Button, ...], ...]) -> None:
        """Send one message; 429 → RetryAfter, 403 → RecipientUnreachable, other errors propagate."""
        try:
            await self.bot.send_message(chat_id, text, reply_markup=keyboard(buttons))
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error
        except TelegramForbiddenError as error:
            raise RecipientUnreachable(error.message) from error
