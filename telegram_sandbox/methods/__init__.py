"""Bot API methods; importing this package fills the method table."""

from telegram_sandbox.methods import (  # noqa: F401  (imported to register their methods)
    account,
    callbacks,
    chats,
    editing,
    file_info,
    sending,
    topics,
    updates,
)
from telegram_sandbox.methods.registry import METHODS, BotMethod, find_method

__all__ = ["METHODS", "BotMethod", "find_method"]
