"""What a runtime hands to the handlers, and what the handlers hand back."""

from dataclasses import dataclass, field
from enum import StrEnum


class EventKind(StrEnum):
    """The one thing an incoming update carries."""

    TEXT = "text"
    COMMAND = "command"
    PHOTO = "photo"
    DOCUMENT = "document"
    BUTTON = "button"
    MEMBERSHIP = "membership"
    OTHER = "other"


@dataclass(frozen=True)
class Person:
    """The Telegram user behind an event."""

    id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file the user sent: the largest photo size, or a document."""

    file_id: str
    file_size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class Event:
    """One update, translated out of the framework."""

    update_id: int
    person: Person
    chat_id: int
    kind: EventKind
    chat_type: str = "private"
    text: str = ""
    command: str = ""
    args: str = ""
    attachment: Attachment | None = None
    media_group_id: str | None = None
    button_data: str = ""
    message_id: int | None = None
    other_kind: str = ""
    blocked: bool = False
    thread_id: int | None = None
    reply_to_message_id: int | None = None


@dataclass(frozen=True)
class Button:
    """An inline button: its label and the data it sends back."""

    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """A message to send back to the chat of the event."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class ClearButtons:
    """Remove the inline keyboard of a message the bot sent earlier."""

    message_id: int


@dataclass(frozen=True)
class Toast:
    """A short notice shown on the pressed button (answerCallbackQuery)."""

    text: str


@dataclass(frozen=True)
class Photo:
    """An image to send back (e.g. a chart)."""

    data: bytes
    caption: str = ""


@dataclass(frozen=True)
class Document:
    """A file to send back (e.g. a CSV export)."""

    data: bytes
    file_name: str
    caption: str = ""


Output = Reply | ClearButtons | Toast | Photo | Document


@dataclass
class Outcome:
    """Everything a handler wants the runtime to do in answer to one event."""

    outputs: list[Output] = field(default_factory=list)

    def say(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> "Outcome":
        """Add a message to send."""
        self.outputs.append(Reply(text, buttons))
        return self
