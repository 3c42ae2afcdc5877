"""What the handlers need from the outside world, implemented by the runtimes in bot/."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from handlers.events import Button
from handlers.money import Money
from storage.models import Refund, RefundStatus

Clock = Callable[[], datetime]


class FileDownloader(Protocol):
    """Fetches the bytes of a file the user sent (getFile + download); called with no transaction open."""

    async def download(self, file_id: str) -> bytes:
        """Return the file's bytes; FileTooLarge as soon as they pass the implementation's size cap."""
        ...


class FileUnavailable(Exception):
    """The file could not be fetched (too big for getFile, expired, or a network error)."""


class FileTooLarge(FileUnavailable):
    """The file is larger than the downloader's cap; the download stopped there."""


class EvidenceUnavailable(Exception):
    """The evidence store could not be reached or refused the operation (a bucket down, a disk full)."""


class EvidenceStore(Protocol):
    """Screenshot and bill bytes, stored once under their SHA-256: a local folder or an S3-compatible bucket.

    Times are the store's own (a file's mtime, an object's LastModified): saving bytes again refreshes it.
    Failures other than a missing file raise EvidenceUnavailable (or OSError from a local disk).
    """

    async def save(self, data: bytes) -> str:
        """Store the bytes (once; stored bytes are only touched) and return their SHA-256."""
        ...

    async def load(self, sha256: str) -> bytes:
        """The stored bytes; FileNotFoundError if there are none."""
        ...

    async def delete(self, sha256: str, *, unless_modified_after: datetime) -> int | None:
        """Remove the bytes unless saved again since then; their size, or None if kept (or absent)."""
        ...

    async def hashes_older_than(self, moment: datetime) -> list[str]:
        """The hashes of stored bytes last saved before `moment`."""
        ...

    async def delete_abandoned_writes(self, *, older_than: datetime) -> int:
        """Remove what interrupted writes left behind; how many."""
        ...


@dataclass(frozen=True)
class RefundRequest:
    """Refund one charge; `reference` (the ticket's) is the idempotency key."""

    reference: str
    transaction_id: str
    amount: Money


@dataclass(frozen=True)
class RefundState:
    """What the provider says about a refund."""

    status: RefundStatus
    failure_reason: str | None = None
    bank_reference: str | None = None
    settle_at: datetime | None = None


class PaymentProvider(Protocol):
    """Where refunds are created and where their status is read."""

    name: str

    async def create_refund(self, request: RefundRequest, *, now: datetime) -> RefundState:
        """Create the refund (asking twice with the same reference never refunds twice)."""
        ...

    async def refund_status(self, refund: Refund, *, now: datetime) -> RefundState:
        """The refund's current state."""
        ...


class RetryAfter(Exception):
    """Telegram asked for a pause (429) before any further message."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class RecipientUnreachable(Exception):
    """The user blocked the bot, or the chat is gone (403)."""


class ThreadGone(Exception):
    """The forum topic was deleted ("message thread not found")."""


class MessageGone(Exception):
    """The message to edit no longer exists."""


class Messenger(Protocol):
    """Sends proactive messages; raises RetryAfter, RecipientUnreachable or any error to retry."""

    async def send(
        self, chat_id: int, text: str, buttons: tuple[tuple[Button, ...], ...], *,
        thread_id: int | None = None, reply_to: int | None = None, parse_mode: str | None = None,
        paid_broadcast: bool = False,
    ) -> None:
        """Send one message (into a topic, or as a reply, when given); ThreadGone if the topic is gone.

        `paid_broadcast`: allow_paid_broadcast (a broadcast above the free rate, paid in Telegram Stars).
        """
        ...

    async def send_card(
        self, chat_id: int, *, thread_id: int | None, photo: bytes | None, text: str,
        buttons: tuple[tuple[Button, ...], ...],
    ) -> int:
        """Post a ticket card (a photo with caption, or a text); return its message id."""
        ...

    async def edit_card(
        self, chat_id: int, message_id: int, *, with_photo: bool, text: str,
        buttons: tuple[tuple[Button, ...], ...],
    ) -> None:
        """Edit a card in place; MessageGone if it was deleted."""
        ...

    async def create_topic(self, chat_id: int, name: str) -> int:
        """Open a forum topic; return its thread id."""
        ...

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """Rename a forum topic; ThreadGone if it was deleted."""
        ...


class ProviderError(Exception):
    """The payment provider could not be reached or refused the request; safe to retry (same key)."""


@dataclass(frozen=True)
class ChartLabels:
    """The words on the /stats chart, in the support group's language."""

    title: str
    count_axis: str
    landing_axis: str
    count_legend: str
    landing_legend: str


DayFigures = tuple[date, int, timedelta | None]  # a day, tickets filed that day, their median time to landing


class ChartDrawer(Protocol):
    """Draws the /stats chart (an image library is an adapter concern)."""

    def draw(self, per_day: Sequence[DayFigures], labels: ChartLabels) -> bytes:
        """A PNG: tickets filed per day as bars, median hours to landing as a line on a second scale."""
        ...


class SeriesStyle(StrEnum):
    """How a series of daily counts is drawn."""

    BARS = "bars"  # the bar series of a chart stand side by side in each day's slot
    LINE = "line"


@dataclass(frozen=True)
class CountSeries:
    """One figure counted per day, with its legend."""

    legend: str
    counts: tuple[int, ...]
    style: SeriesStyle = SeriesStyle.BARS


@dataclass(frozen=True)
class CountChart:
    """Several daily counts on one scale (the merchant's dashboard), words in the reader's language."""

    title: str
    count_axis: str
    days: tuple[date, ...]
    series: tuple[CountSeries, ...]


class CountChartDrawer(Protocol):
    """Draws the merchant's dashboard chart (an image library is an adapter concern)."""

    def draw_counts(self, chart: CountChart) -> bytes:
        """A PNG: each series per day, as bars side by side or as a line, on one count scale."""
        ...
