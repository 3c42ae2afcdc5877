"""Telegram's refusals in the Messenger port's words, read from their descriptions alike by both runtimes."""

from handlers.ports import MessageGone, ThreadGone

_UNCHANGED = ("message is not modified", "topic_not_modified")
_THREAD_GONE = ("thread not found", "topic_id_invalid", "topic_deleted")
_MESSAGE_GONE = ("message to edit not found", "message not found")


class TelegramUnreachable(ConnectionError):
    """Telegram could not be reached; the text names the kind of failure and never the URL."""


def is_unchanged(description: str) -> bool:
    """An edit that would change nothing: Telegram refuses it, the port counts it as done."""
    text = description.lower()
    return any(words in text for words in _UNCHANGED)


def bad_request_error(description: str) -> ThreadGone | MessageGone | None:
    """The port's error for a bad request it has words for (a gone topic or message); None for the rest."""
    text = description.lower()
    if any(words in text for words in _THREAD_GONE):
        return ThreadGone(description)
    if any(words in text for words in _MESSAGE_GONE):
        return MessageGone(description)
    return None
