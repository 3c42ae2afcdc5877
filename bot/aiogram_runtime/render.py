"""Handler outputs → Bot API calls through aiogram."""

import logging

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.runners.downloads import CappedBuffer
from bot.runners.shared import SharedPause, with_retry
from handlers.events import Button, ClearButtons, Document, Output, Photo, Reply, Toast
from handlers.evidence.images import MAX_IMAGE_BYTES
from handlers.ports import FileTooLarge, FileUnavailable, RetryAfter

log = logging.getLogger(__name__)


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard markup for button rows (None when there are none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in rows
        ]
    )


def _with_retry(call, shared: SharedPause | None):
    """The call retried on 429 by the runners' shared rule, aiogram's 429 told in the port's words."""

    async def once():
        try:
            return await call()
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error

    return with_retry(once, shared=shared)


async def render(
    bot: Bot, chat_id: int, outputs: list[Output], thread_id: int | None = None,
    shared: SharedPause | None = None,
) -> str | None:
    """Send replies (into the event's topic) and edits; return the toast for the pressed button, if any.

    `shared`: the 429 pause of every instance (RATE_LIMIT_URL), kept to and reported to.
    """
    toast = None
    for output in outputs:
        try:
            if isinstance(output, Reply):
                markup = keyboard(output.buttons)
                await _with_retry(
                    lambda o=output, m=markup: bot.send_message(
                        chat_id, o.text, reply_markup=m, message_thread_id=thread_id
                    ),
                    shared,
                )
            elif isinstance(output, Photo):
                await _with_retry(
                    lambda o=output: bot.send_photo(
                        chat_id,
                        BufferedInputFile(o.data, "chart.png"),
                        caption=o.caption or None,
                        message_thread_id=thread_id,
                    ),
                    shared,
                )
            elif isinstance(output, Document):
                await _with_retry(
                    lambda o=output: bot.send_document(
                        chat_id,
                        BufferedInputFile(o.data, o.file_name),
                        caption=o.caption or None,
                        message_thread_id=thread_id,
                    ),
                    shared,
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
    """Downloads files users sent, through getFile, never buffering more than `max_bytes`."""

    def __init__(self, bot: Bot, max_bytes: int = MAX_IMAGE_BYTES):
        self.bot, self.max_bytes = bot, max_bytes

    async def download(self, file_id: str) -> bytes:
        """The file's bytes; FileUnavailable, in words without the file URL (it holds the token), if not."""
        try:
            return await self._fetch(file_id)
        except FileTooLarge:
            raise  # our own cap, in our own words
        except FileUnavailable as unavailable:
            reason = str(unavailable)
        except (AiogramError, aiohttp.ClientError, OSError) as error:  # OSError: timeouts and sockets
            reason = download_failure(error)
        log.warning("%s", reason)
        raise FileUnavailable(reason)  # raised outside the except: no chained error carrying the URL

    async def _fetch(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        if not file.file_path:
            raise FileUnavailable("file download failed: Telegram gave no file path (too big)")
        if file.file_size is not None and file.file_size > self.max_bytes:
            raise FileTooLarge(f"file of {file.file_size} bytes not downloaded: over {self.max_bytes}")
        buffer = CappedBuffer(self.max_bytes)  # the size getFile states may be wrong
        await self.bot.download_file(file.file_path, destination=buffer)
        return buffer.getvalue()


def download_failure(error: BaseException) -> str:
    """What went wrong with a download, in words: never the URL, which carries the bot token."""
    if isinstance(error, TelegramNetworkError):
        return "file download failed: network error on getFile"
    if isinstance(error, TelegramAPIError):
        return f"file download failed: getFile refused ({type(error).__name__})"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"file download failed: HTTP {error.status}"
    if isinstance(error, TimeoutError):
        return "file download failed: timed out"
    return f"file download failed: {type(error).__name__}"
