"""One python-telegram-bot handler for everything the refund bot answers, routed as aiogram's routers are:
private chats to the payer desk, the support group to the support desk, and nothing else."""

from contextlib import suppress
from enum import Enum
from typing import Any

from telegram import Update
from telegram.error import BadRequest, RetryAfter
from telegram.ext import Application, BaseHandler, CallbackContext

from bot.ptb_runtime.messenger import PtbMessenger
from bot.ptb_runtime.render import PtbFiles, render
from bot.ptb_runtime.translate import event_from_callback, event_from_membership, event_from_message
from bot.runners.embedded import RefundBot

PRIVATE = "private"


class Route(Enum):
    """Which desk an update goes to, and as what."""

    PAYER_MESSAGE = "payer message"
    PAYER_BUTTON = "payer button"
    PAYER_MEMBERSHIP = "payer membership"
    SUPPORT_MESSAGE = "support message"
    SUPPORT_BUTTON = "support button"


def route_of(update: object, support_chat_id: int | None) -> Route | None:
    """The route of an update (None: not the refund bot's, left to the Application's other handlers)."""
    if not isinstance(update, Update):
        return None
    if update.message is not None:  # new messages only: edits are not asked for, and ignored if sent
        chat = update.message.chat
        if chat.id == support_chat_id:
            return Route.SUPPORT_MESSAGE
        return Route.PAYER_MESSAGE if chat.type == PRIVATE else None
    if update.callback_query is not None and update.callback_query.message is not None:
        chat = update.callback_query.message.chat
        if chat.id == support_chat_id:
            return Route.SUPPORT_BUTTON
        return Route.PAYER_BUTTON if chat.type == PRIVATE else None
    if update.my_chat_member is not None and update.my_chat_member.chat.type == PRIVATE:
        return Route.PAYER_MEMBERSHIP
    return None


class RefundUpdates(BaseHandler[Update, CallbackContext[Any, Any, Any, Any], None]):
    """Hands the refund bot's updates to its desks and renders what they answer."""

    def __init__(self, refund: RefundBot):
        super().__init__(self._unused)
        self.refund = refund

    @staticmethod
    async def _unused(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        """BaseHandler wants a callback; handle_update below does the work."""

    def check_update(self, update: object) -> Route | None:
        """This handler's route for the update, or None to leave it to others."""
        return route_of(update, self.refund.support_chat_id)

    async def handle_update(
        self, update: Update, application: Application[Any, Any, Any, Any, Any, Any], check_result: Route,
        context: CallbackContext[Any, Any, Any, Any],
    ) -> None:
        """Translate, hand to the desk, render; a pressed button is answered so its spinner stops."""
        bot, refund, update_id = application.bot, self.refund, update.update_id
        if check_result is Route.PAYER_MEMBERSHIP:
            event = event_from_membership(update.my_chat_member, update_id)
        elif check_result in (Route.PAYER_MESSAGE, Route.SUPPORT_MESSAGE):
            event = event_from_message(update.message, update_id)
        else:
            event = event_from_callback(update.callback_query, update_id)
        async with refund.in_flight, refund.turns(event.chat_id, event.person.id):
            if check_result is Route.PAYER_MESSAGE:
                await render(bot, event.chat_id, await refund.payer.handle(event), shared=refund.shared_pause)
            elif check_result is Route.PAYER_MEMBERSHIP:
                await refund.payer.handle(event)
            elif check_result is Route.SUPPORT_MESSAGE:
                outputs = await refund.support.handle(event)
                await render(bot, event.chat_id, outputs, event.thread_id, shared=refund.shared_pause)
            else:
                in_group = check_result is Route.SUPPORT_BUTTON
                outputs = await (refund.support if in_group else refund.payer).handle(event)
                thread = event.thread_id if in_group else None
                toast = await render(bot, event.chat_id, outputs, thread, shared=refund.shared_pause)
                with suppress(BadRequest, RetryAfter):  # expired meanwhile, or no time to wait
                    await update.callback_query.answer(toast)


class RefundHandlers:
    """The refund bot inside one Application: its handler, and its start and stop around the Application's."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], refund: RefundBot):
        self.application, self.refund = application, refund
        self.handler = RefundUpdates(refund)
        self.files = PtbFiles(application.bot)

    async def start(self) -> None:
        """Open the refund bot: desks, command menu, support topics, the ticker."""
        await self.refund.open(PtbMessenger(self.application.bot), self.files)

    async def stop(self) -> None:
        """Stop the ticker, let the updates in hand finish, and close what start opened."""
        await self.refund.close()
        await self.files.close()
