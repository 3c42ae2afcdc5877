"""Routers per audience, filtered once at the parent; the refund bot's router holds both."""

from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.aiogram_runtime.render import AiogramFiles, render
from bot.aiogram_runtime.translate import event_from_callback, event_from_membership, event_from_message
from bot.runners.embedded import RefundBot


def payer_router(refund: RefundBot) -> Router:
    """Private chats with payers."""
    router = Router(name="payers")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.my_chat_member.filter(F.chat.type == ChatType.PRIVATE)

    @router.message()
    async def on_message(message: Message, bot: Bot, event_update: Update) -> None:
        """Every private message goes to the payer desk."""
        event = event_from_message(message, event_update.update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            outputs = await refund.payer.handle(event)
            await render(bot, message.chat.id, outputs, shared=refund.shared_pause)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        """Every button press in a private chat goes to the payer desk."""
        event = event_from_callback(query, event_update.update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            outputs = await refund.payer.handle(event)
            toast = await render(bot, event.chat_id, outputs, shared=refund.shared_pause)
            with suppress(TelegramBadRequest, TelegramRetryAfter):  # expired meanwhile, or no time to wait
                await query.answer(toast)

    @router.my_chat_member()
    async def on_membership(update: ChatMemberUpdated, event_update: Update) -> None:
        """The payer blocked or unblocked the bot: delivery stops or resumes."""
        event = event_from_membership(update, event_update.update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            await refund.payer.handle(event)

    return router


def support_router(refund: RefundBot, chat_id: int) -> Router:
    """The support group: cards' buttons, agents' messages and commands."""
    router = Router(name="support")
    router.message.filter(F.chat.id == chat_id)
    router.callback_query.filter(F.message.chat.id == chat_id)

    @router.message()
    async def on_group_message(message: Message, bot: Bot, event_update: Update) -> None:
        """Agents' commands and their answers after Reject or Ask."""
        event = event_from_message(message, event_update.update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            outputs = await refund.support.handle(event)
            await render(bot, message.chat.id, outputs, event.thread_id, shared=refund.shared_pause)

    @router.callback_query()
    async def on_card_button(query: CallbackQuery, bot: Bot, event_update: Update) -> None:
        """Approve, Reject, Ask, Assign to me — checked against the presser and the ticket."""
        event = event_from_callback(query, event_update.update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            outputs = await refund.support.handle(event)
            toast = await render(bot, event.chat_id, outputs, event.thread_id, shared=refund.shared_pause)
            with suppress(TelegramBadRequest, TelegramRetryAfter):
                await query.answer(toast, show_alert=False)

    return router


def refund_bot_router(refund: RefundBot, *, tick: bool = True) -> Router:
    """The support group's router (when there is one), then the payers'; opened and closed with the
    Dispatcher's start-up and shutdown, through the bot the Dispatcher polls for."""
    router = Router(name="refund assistant")
    if refund.support_chat_id is not None:
        router.include_router(support_router(refund, refund.support_chat_id))
    router.include_router(payer_router(refund))

    @router.startup()
    async def on_startup(bot: Bot) -> None:
        await refund.open(AiogramMessenger(bot), AiogramFiles(bot), tick=tick)

    @router.shutdown()
    async def on_shutdown() -> None:
        await refund.close()

    return router
