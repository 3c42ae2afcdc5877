"""python-telegram-bot objects → framework-free Events, through the shared translation
(bot/runners/translate.py)."""

from telegram import Message
from telegram.helpers import effective_message_type

from bot.runners import translate
from bot.runners.translate import event_from_callback, event_from_membership, person_of
from handlers.events import Event

__all__ = ["event_from_callback", "event_from_membership", "event_from_message", "person_of"]


def event_from_message(message: Message, update_id: int) -> Event:
    """A message becomes a text, command, photo, document or 'other' event (PTB names its kind)."""
    return translate.event_from_message(message, update_id, kind_of=_other_kind)


def _other_kind(message: Message) -> str:
    if message.venue is not None:  # a venue carries a location too, which PTB names first; aiogram: "venue"
        return "venue"
    return str(effective_message_type(message) or "unknown")
