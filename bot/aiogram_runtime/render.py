"""Handler outputs → Bot API calls through aiogram."""

import asyncio
import io
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from handlers.events import Button, ClearButtons, Document, Output, Photo, Reply, Toast
from handlers.ports import FileUnavailable

log = logging.getLogger(__name__)
MAX_RETRIES = 3


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard markup for button rows (None when there are none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in rows
        ]
    )


async def _with_retry(call):
    for attempt in range(MAX_RETRIES):
        try:
            return await call()
        except TelegramRetryAfter as error:  # Telegram asks us to wait; a reply is worth waiting for
            if attempt == MAX_RETRIES - 1:
                raise
            await asyncio.sleep(error.retry_after)
    return None


async def render(bot: Bot, chat_id: int, outputs: list[Output], thread_id: int | None = None) -> str | None:
    """Send replies (into the event's topic) and edits; return the toast for the pressed button, if any."""
    toast = None
    for output in outputs:
        try:
            if isinstance(output, Reply):
                markup = keyboard(output.buttons)
                await _with_retry(
                    lambda o=output, m=markup: bot.send_message(
                        chat_id, o.text, reply_markup=m, message_thread_id=thread_id
                    )
                )
            elif isinstance(output, Photo):
                await _with_retry(
                    lambda o=output: bot.send_photo(
                        chat_id,
                        BufferedInputFile(o.data, "chart.png"),
                        caption=o.caption or None,
                        message_thread_id=thread_id,
                    )
                )
            elif isinstance(output, Document):
                await _with_retry(
                    lambda o=output: bot.send_document(
                        chat_id,
                        BufferedInputFile(o.data, o.file_name),
                        caption=o.caption or None,
                        message_thread_id=thread_id,
                    )
                )
            elif isinstance(output, ClearButtons):
                await bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=output.message_id, reply_markup=None
                )
            elif isinstance(output, Toast):
                toast = output.text
        except TelegramForbiddenError:
            log.info("chat %s blocked the bot; reply dropped", chat_id)
            return toast
        except TelegramBadRequest as error:
            log.warning("Telegram refused %s for chat %s: %s", type(output).__name__, chat_id, error.message)
    return toast


class AiogramFiles:
    """Downloads files users sent, through getFile."""

    def __init__(self, bot: Bot):
        self.bot = bot

    async def download(self, file_id: str) -> bytes:
        """The file's bytes."""
        buffer = io.BytesIO()
        try:
            await self.bot.download(file_id, destination=buffer)
        except (TelegramBadRequest, TelegramNetworkError) as error:
            raise FileUnavailable(str(error)) from error
        return buffer.getvalue()
