"""The Messenger port over aiogram: proactive sends, cards and topics, with Telegram's errors mapped;
and the runners' shared start-up calls (command menu, topics of a group)."""

import contextlib
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BotCommand, BufferedInputFile, ReplyParameters

from bot.aiogram_runtime.render import keyboard
from bot.runners.refusals import TelegramUnreachable, bad_request_error, is_unchanged
from bot.runners.shared import ChatUnreachable
from handlers.events import Button
from handlers.ports import RecipientUnreachable, RetryAfter

CAPTION_LIMIT = 1024
Rows = tuple[tuple[Button, ...], ...]


@contextlib.asynccontextmanager
async def telegram_errors() -> AsyncIterator[None]:
    """Telegram's errors as the port's: 429, 403, a gone topic or message, a network error (in words)."""
    try:
        yield
    except TelegramRetryAfter as error:
        raise RetryAfter(error.retry_after) from error
    except TelegramForbiddenError as error:
        raise RecipientUnreachable(error.message) from error
    except TelegramNetworkError as error:  # its text and its cause may carry the URL, and so the token
        cause = type(error.__cause__).__name__ if error.__cause__ else "no answer"
        raise TelegramUnreachable(f"network error talking to Telegram ({cause})") from None
    except TelegramBadRequest as error:
        if is_unchanged(error.message):
            return
        if (named := bad_request_error(error.message)) is not None:
            raise named from error
        raise


class AiogramMessenger:
    """Sends outbox messages and support cards through the bot; also the runners' TelegramShell."""

    def __init__(self, bot: Bot):
        self.bot = bot

    async def send(
        self,
        chat_id: int,
        text: str,
        buttons: Rows,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        parse_mode: str | None = None,
        paid_broadcast: bool = False,
    ) -> None:
        """Send one message (with allow_paid_broadcast for a paid broadcast)."""
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        async with telegram_errors():
            await self.bot.send_message(
                chat_id,
                text,
                reply_markup=keyboard(buttons),
                parse_mode=parse_mode,
                message_thread_id=thread_id,
                reply_parameters=reply,
                allow_paid_broadcast=True if paid_broadcast else None,
            )

    async def send_card(
        self, chat_id: int, *, thread_id: int | None, photo: bytes | None, text: str, buttons: Rows
    ) -> int:
        """A photo with the card as caption (or the card as text when there is no screenshot)."""
        async with telegram_errors():
            if photo is not None:
                sent = await self.bot.send_photo(
                    chat_id,
                    BufferedInputFile(photo, "screenshot.jpg"),
                    caption=text[:CAPTION_LIMIT],
                    reply_markup=keyboard(buttons),
                    message_thread_id=thread_id,
                    parse_mode=None,
                )
            else:
                sent = await self.bot.send_message(
                    chat_id,
                    text,
                    reply_markup=keyboard(buttons),
                    message_thread_id=thread_id,
                    parse_mode=None,
                )
        return sent.message_id

    async def edit_card(
        self, chat_id: int, message_id: int, *, with_photo: bool, text: str, buttons: Rows
    ) -> None:
        """Edit the card's caption or text and its buttons."""
        async with telegram_errors():
            if with_photo:
                await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=text[:CAPTION_LIMIT],
                    reply_markup=keyboard(buttons),
                    parse_mode=None,
                )
            else:
                await self.bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard(buttons),
                    parse_mode=None,
                )

    async def create_topic(self, chat_id: int, name: str) -> int:
        """Open a forum topic for a ticket."""
        async with telegram_errors():
            topic = await self.bot.create_forum_topic(chat_id, name[:128])
        return topic.message_thread_id

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """Keep the topic's name in step with the ticket's status."""
        async with telegram_errors():
            await self.bot.edit_forum_topic(chat_id, thread_id, name=name[:128])

    async def set_command_menu(self, commands: list[tuple[str, str]], language: str | None) -> None:
        """setMyCommands for one language (None: everyone else)."""
        menu = [BotCommand(command=command, description=description) for command, description in commands]
        await self.bot.set_my_commands(menu, language_code=language)

    async def is_forum(self, chat_id: int) -> bool:
        """Whether the group has topics; ChatUnreachable if the bot cannot see it."""
        try:
            chat = await self.bot.get_chat(chat_id)
        except (TelegramBadRequest, TelegramForbiddenError) as error:
            raise ChatUnreachable(error.message) from error
        return bool(chat.is_forum)
