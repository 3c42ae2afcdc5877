"""A running broadcast's progress: one message in the merchant's chat, edited in place; then the report."""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from babel.dates import format_timedelta
from babel.numbers import format_decimal
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.ports import Clock, MessageGone, Messenger, RecipientUnreachable, RetryAfter
from handlers.texts import BABEL_LOCALES, Texts
from storage.broadcasts import (
    BroadcastCounts,
    broadcast_by_id,
    counts_of,
    running_broadcasts,
    unsent_counts,
)
from storage.database import Database
from storage.models import Broadcast, BroadcastStatus, User, id_of
from storage.outbox import TRANSACTIONAL, enqueue

log = logging.getLogger(__name__)
EDIT_EVERY = 3.0  # seconds between two edits of one progress message
SHORTEST_MEASURE = 1.0  # seconds of sending before the time left is estimated


@dataclass
class Watch:
    """What this process saw of one broadcast: when it first looked, what had been sent, what it showed."""

    since: float
    sent_then: int
    shown_at: float = float("-inf")
    shown: str = ""


def time_left(counts: BroadcastCounts, watch: Watch, now: float) -> timedelta | None:
    """The time the rest takes at the rate seen so far; None until the rate can be told."""
    elapsed, done = now - watch.since, counts.sent - watch.sent_then
    if elapsed < SHORTEST_MEASURE or done <= 0:
        return None
    return timedelta(seconds=counts.waiting * elapsed / done)


@dataclass
class BroadcastProgress:
    """Posts and edits each running broadcast's progress message; marks it done when nothing is left."""

    db: Database
    messenger: Messenger
    texts: Texts
    clock: Clock
    default_locale: str
    edit_every: float = EDIT_EVERY
    # Waits for the delivery worker's turn (its rate and 429 pauses) before each post or edit.
    pace: Callable[[int], Awaitable[None]] | None = None
    monotonic: Callable[[], float] = time.monotonic
    _watches: dict[int, Watch] = field(default_factory=dict)

    async def report(self) -> None:
        """Show the progress of every running broadcast and finish those whose messages are all sent."""
        async with self.db.transaction() as session:
            running = await running_broadcasts(session)
            counts = await counts_of(session, running)
            unsent = await unsent_counts(session, broadcast_ids=list(counts))
            chats = {b.progress_chat_id for b in running}
            locales = {chat: await self._locale_of(session, chat) for chat in chats}
        for broadcast in running:
            number = id_of(broadcast)
            locale = locales[broadcast.progress_chat_id]
            if unsent.get(number, 0) == 0:
                await self._finish(number, locale)
            else:
                await self._show(broadcast, counts[number], locale)

    async def _locale_of(self, session: AsyncSession, chat_id: int | None) -> str:
        merchant = await session.get(User, chat_id) if chat_id is not None else None
        return merchant.locale if merchant is not None else self.default_locale

    def progress_text(self, broadcast: Broadcast, counts: BroadcastCounts, locale: str, left: str) -> str:
        """The progress message: sent / total, delivered, unreachable, failed, and the time left."""
        number = BABEL_LOCALES.get(locale, "en_US")
        return self.texts.get(
            locale, "merchant.broadcast.progress",
            number=id_of(broadcast), sent=format_decimal(counts.sent, locale=number),
            total=format_decimal(counts.recipients, locale=number),
            delivered=format_decimal(counts.delivered, locale=number),
            unreachable=format_decimal(counts.unreachable, locale=number),
            failed=format_decimal(counts.failed, locale=number), left=left,
        )

    def _left_line(self, counts: BroadcastCounts, watch: Watch, locale: str) -> str:
        left = time_left(counts, watch, self.monotonic())
        if left is None:
            return self.texts.get(locale, "merchant.broadcast.progress_estimating")
        return self.texts.get(locale, "merchant.broadcast.progress_left", time=_duration(left, locale))

    async def _show(self, broadcast: Broadcast, counts: BroadcastCounts, locale: str) -> None:
        number, now = id_of(broadcast), self.monotonic()
        watch = self._watches.setdefault(number, Watch(now, counts.sent))
        if broadcast.progress_chat_id is None or now - watch.shown_at < self.edit_every:
            return
        text = self.progress_text(broadcast, counts, locale, self._left_line(counts, watch, locale))
        if text != watch.shown and await self._put(broadcast, text):
            watch.shown_at, watch.shown = now, text

    async def _put(self, broadcast: Broadcast, text: str) -> bool:
        """Post the progress message, or edit it in place; False if Telegram did not take it this time."""
        chat_id = broadcast.progress_chat_id
        assert chat_id is not None
        try:
            if self.pace is not None:
                await self.pace(chat_id)
            if broadcast.progress_message_id is not None:
                try:
                    await self.messenger.edit_card(
                        chat_id, broadcast.progress_message_id, with_photo=False, text=text, buttons=()
                    )
                    return True
                except MessageGone:
                    pass  # deleted by the merchant: post a new one
            message_id = await self.messenger.send_card(
                chat_id, thread_id=None, photo=None, text=text, buttons=()
            )
        except (RetryAfter, RecipientUnreachable) as error:
            log.info("progress of broadcast %s not shown this time: %s", broadcast.id, error)
            return False
        except Exception:
            log.exception("progress of broadcast %s not shown this time", broadcast.id)
            return False
        broadcast.progress_message_id = message_id
        async with self.db.transaction() as session:
            stored = await broadcast_by_id(session, broadcast_id=id_of(broadcast), lock=True)
            if stored is not None:
                stored.progress_message_id = message_id
                session.add(stored)
        return True

    async def _finish(self, number: int, locale: str) -> None:
        """Nothing of the broadcast is left to send: done, the report queued, the progress shown final."""
        now = self.clock()
        async with self.db.transaction() as session:
            broadcast = await broadcast_by_id(session, broadcast_id=number, lock=True)
            if broadcast is None or broadcast.status != BroadcastStatus.RUNNING:
                return
            if (await unsent_counts(session, broadcast_ids=[number])).get(number, 0):
                return  # a row came back (a retry) since we looked
            broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now
            session.add(broadcast)
            counts = (await counts_of(session, [broadcast]))[number]
            if broadcast.progress_chat_id is not None:
                took = now - broadcast.started_at if broadcast.started_at is not None else timedelta(0)
                await enqueue(
                    session, dedupe_key=f"bc:{number}:report", chat_id=broadcast.progress_chat_id,
                    text=self.report_text(broadcast, counts, locale, took), priority=TRANSACTIONAL,
                    not_before=now,
                )
        self._watches.pop(number, None)
        if broadcast.progress_chat_id is not None and broadcast.progress_message_id is not None:
            finished = self.texts.get(locale, "merchant.broadcast.progress_finished")
            await self._put(broadcast, self.progress_text(broadcast, counts, locale, finished))

    def report_text(self, broadcast: Broadcast, counts: BroadcastCounts, locale: str, took: timedelta) -> str:
        """The final report of a broadcast."""
        number = BABEL_LOCALES.get(locale, "en_US")
        return self.texts.get(
            locale, "merchant.broadcast.report",
            number=id_of(broadcast), total=format_decimal(counts.recipients, locale=number),
            delivered=format_decimal(counts.delivered, locale=number),
            unreachable=format_decimal(counts.unreachable, locale=number),
            failed=format_decimal(counts.failed, locale=number), took=_duration(took, locale),
        )


def _duration(length: timedelta, locale: str) -> str:
    """A length of time as the locale says it, roughly: "3 minutes", "3分钟"."""
    return format_timedelta(
        max(length, timedelta(seconds=1)), threshold=1.5, locale=BABEL_LOCALES.get(locale, "en_US")
    )
