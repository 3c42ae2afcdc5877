"""aiogram objects → framework-free Events, through the shared translation (bot/runners/translate.py)."""

from aiogram.types import Message

from bot.runners import translate
from bot.runners.translate import event_from_callback, event_from_membership, person_of
from handlers.events import Event

__all__ = ["event_from_callback", "event_from_membership", "event_from_message", "person_of"]


def event_from_message(message: Message, update_id: int) -> Event:
    """A message becomes a text, command, photo, document or 'other' event (aiogram names its kind)."""
    return translate.event_from_message(message, update_id, kind_of=lambda m: m.content_type.value)
