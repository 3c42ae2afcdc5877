"""Bot API objects → framework-free Events, for both runtimes.

aiogram and python-telegram-bot model updates with the Bot API's own field names, so one translation
serves both and they cannot drift apart; each runtime only names a message's kind for the 'other' event.
"""

from collections.abc import Callable
from typing import Any

from handlers.events import Attachment, Event, EventKind, Person


def person_of(user: Any) -> Person:
    """The handlers' view of a Telegram user."""
    if user is None:  # a channel post has no sender; Events always carry one
        return Person(0)
    return Person(user.id, user.first_name or "", user.username, user.language_code)


def event_from_message(message: Any, update_id: int, kind_of: Callable[[Any], str]) -> Event:
    """A message becomes a text, command, photo, document or 'other' event (of the kind `kind_of` names)."""
    common = {
        "update_id": update_id,
        "person": person_of(message.from_user),
        "chat_id": message.chat.id,
        "chat_type": str(message.chat.type),
        "message_id": message.message_id,
        "media_group_id": message.media_group_id,
        "thread_id": message.message_thread_id if message.is_topic_message else None,
        "reply_to_message_id": message.reply_to_message.message_id if message.reply_to_message else None,
    }
    if message.text is not None:
        command = _command_of(message.text, message.entities or ())
        if command:
            name, args = command
            return Event(kind=EventKind.COMMAND, text=message.text, command=name, args=args, **common)
        return Event(kind=EventKind.TEXT, text=message.text, **common)
    if message.photo:
        largest = message.photo[-1]
        attachment = Attachment(largest.file_id, largest.file_size, None, None)
        return Event(kind=EventKind.PHOTO, attachment=attachment, **common)
    if message.document:
        document = message.document
        attachment = Attachment(document.file_id, document.file_size, document.mime_type,
                                document.file_name)
        return Event(kind=EventKind.DOCUMENT, attachment=attachment, **common)
    return Event(kind=EventKind.OTHER, other_kind=kind_of(message), **common)


def _command_of(text: str, entities: Any) -> tuple[str, str] | None:
    if not any(e.type == "bot_command" and e.offset == 0 for e in entities):
        return None
    head, _, args = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, args.strip()


def event_from_callback(query: Any, update_id: int) -> Event:
    """A button press; its data is passed on as sent, to be checked by the handlers."""
    message = query.message
    return Event(
        update_id=update_id,
        person=person_of(query.from_user),
        chat_id=message.chat.id if message else query.from_user.id,
        chat_type=str(message.chat.type) if message else "private",
        kind=EventKind.BUTTON,
        button_data=query.data or "",
        message_id=message.message_id if message else None,
        thread_id=getattr(message, "message_thread_id", None) if message else None,
    )


def event_from_membership(update: Any, update_id: int) -> Event:
    """The user blocked ("kicked") or unblocked the bot in their private chat."""
    return Event(
        update_id=update_id,
        person=person_of(update.from_user),
        chat_id=update.chat.id,
        chat_type=str(update.chat.type),
        kind=EventKind.MEMBERSHIP,
        blocked=update.new_chat_member.status == "kicked",
    )
