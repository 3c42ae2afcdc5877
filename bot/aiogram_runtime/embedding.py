"""The refund bot included in a merchant's own aiogram Dispatcher, in one call."""

from aiogram import Router

from bot.aiogram_runtime.routers import refund_bot_router
from bot.config import Settings
from bot.runners.embedded import RefundBot
from bot.wiring import Services


def refund_router(settings: Settings | None = None, *, services: Services | None = None) -> Router:
    """A Router to include in a Dispatcher (after the merchant's own): private chats and the support group,
    started and stopped with the Dispatcher's polling or webhook.

    With `settings`, the database is opened (and migrated) in the Dispatcher's event loop at start-up.
    """
    return refund_bot_router(RefundBot(settings, services=services))
