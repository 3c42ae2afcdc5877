"""The Messenger port over python-telegram-bot: proactive sends, cards and topics, with Telegram's errors
mapped; and the runners' shared start-up calls (command menu, topics of a group)."""

from telegram import Bot, BotCommand, InputFile, ReplyParameters
from telegram.error import BadRequest, Forbidden

from bot.ptb_runtime.errors import telegram_errors
from bot.ptb_runtime.render import keyboard
from bot.runners.shared import ChatUnreachable
from handlers.events import Button

CAPTION_LIMIT = 1024
Rows = tuple[tuple[Button, ...], ...]


class PtbMessenger:
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
                    InputFile(photo, filename="screenshot.jpg"),
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
        menu = [BotCommand(command, description) for command, description in commands]
        await self.bot.set_my_commands(menu, language_code=language)

    async def is_forum(self, chat_id: int) -> bool:
        """Whether the group has topics; ChatUnreachable if the bot cannot see it."""
        try:
            chat = await self.bot.get_chat(chat_id)
        except (BadRequest, Forbidden) as error:
            raise ChatUnreachable(error.message) from error
        return bool(chat.is_forum)
