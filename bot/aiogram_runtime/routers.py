"""Routers per audience, filtered once at the parent."""

from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.aiogram_runtime.render import render
from bot.aiogram_runtime.translate import event_from_callback, event_from_membership, event_from_message
from bot.in_flight import InFlight
from handlers.payer.desk import PayerDesk
from handlers.support.desk import SupportDesk


def payer_router(desk: PayerDesk, in_flight: InFlight) -> Router:
    """Private chats with payers."""
    router = Router(name="payers")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)

    @router.message()
    async def on_message(message: Message, bot: Bot, event_update: Update) -> None:
        """Every private message goes to the payer desk."""
        async with in_flight:
            outputs = await desk.handle(event_from_message(message, event_update.update_id))
            await render(bot, message.chat.id, outputs)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        """Every button press in a private chat goes to the payer desk."""
        async with in_flight:
            event = event_from_callback(query, event_update.update_id)
            outputs = await desk.handle(event)
            toast = await render(bot, event.chat_id, outputs)
            with suppress(TelegramBadRequest):  # the query may have expired meanwhile
                await query.answer(toast)

    @router.my_chat_member()
    async def on_membership(update: ChatMemberUpdated, event_update: Update) -> None:
        """The payer blocked or unblocked the bot: delivery stops or resumes."""
        async with in_flight:
            await desk.handle(event_from_membership(update, event_update.update_id))

    return router


def support_router(desk: SupportDesk, chat_id: int, in_flight: InFlight) -> Router:
    """The support group: cards' buttons, agents' messages and commands."""
    router = Router(name="support")
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.filter(F.message.chat.id == chat_id)

    @router.message()
    async def on_group_message(message: Message, bot: Bot, event_update: Update) -> None:
        """Agents' commands and their answers after Reject or Ask."""
        async with in_flight:
            event = event_from_message(message, event_update.update_id)
            outputs = await desk.handle(event)
            await render(bot, message.chat.id, outputs, event.thread_id)

    @router.callback_query()
    async def on_card_button(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        """Approve, Reject, Ask, Assign to me — checked against the presser and the ticket."""
        async with in_flight:
            event = event_from_callback(query, event_update.update_id)
            outputs = await desk.handle(event)
            toast = await render(bot, event.chat_id, outputs, event.thread_id)
            with suppress(TelegramBadRequest):
                await query.answer(toast, show_alert=False)

    return router
