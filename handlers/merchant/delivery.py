"""Broadcasts going out: a due one becomes one outbox row per subscriber; the weekly tip is queued."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.delivery.notices import buttons_json
from handlers.merchant.tips import broadcast_text, next_tip, recipient_buttons
from handlers.ports import Clock
from handlers.texts import Texts
from storage.broadcasts import (
    add_broadcast,
    claim_due_broadcast,
    last_weekly_broadcast,
    lock_weekly_tip,
    message_count,
)
from storage.database import Database
from storage.models import Broadcast, BroadcastStatus, id_of
from storage.outbox import BULK, enqueue_rows, outbox_row
from storage.users import tip_recipients

EXPANSION_CHUNK = 1000  # outbox rows per INSERT
# Two instances firing the same weekly cron queue one tip: a second one this soon after is skipped.
WEEKLY_GUARD = timedelta(hours=1)


def stop_tips_buttons(texts: Texts, locale: str) -> str | None:
    """The "Stop tips" button row every tip carries, in the recipient's language, as the outbox stores it."""
    return buttons_json(recipient_buttons(texts, locale))


async def expand_broadcast(
    session: AsyncSession, broadcast: Broadcast, *, texts: Texts, default_locale: str, now: datetime
) -> int:
    """Write the broadcast's message to each of its recipients and mark it running; how many were written."""
    broadcast_id = id_of(broadcast)
    recipients = await tip_recipients(session, audience=broadcast.audience)
    contents: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(recipients), EXPANSION_CHUNK):
        rows = []
        for user_id, locale in recipients[start:start + EXPANSION_CHUNK]:
            if locale not in contents:
                text = broadcast_text(texts, broadcast, locale, default_locale)
                contents[locale] = (text, stop_tips_buttons(texts, locale))
            text, buttons = contents[locale]
            rows.append(outbox_row(
                dedupe_key=f"bc:{broadcast_id}:{user_id}", chat_id=user_id, text=text, buttons=buttons,
                priority=BULK, not_before=now, broadcast_id=broadcast_id,
            ))
        await enqueue_rows(session, rows=rows)
    # Counted, not summed: asyncpg reports no row count for a many-row INSERT.
    total = await message_count(session, broadcast_id=broadcast_id)
    written = total - broadcast.recipients
    broadcast.status, broadcast.started_at, broadcast.recipients = BroadcastStatus.RUNNING, now, total
    session.add(broadcast)
    return written


@dataclass
class BroadcastStarter:
    """Starts due broadcasts (each in one transaction) and queues the weekly library tip."""

    db: Database
    texts: Texts
    clock: Clock
    default_locale: str
    paid: bool = False  # BROADCAST_PAID: recorded on the broadcasts it queues

    async def start_due(self) -> list[int]:
        """Expand every broadcast whose time has come; the ids of those started."""
        started: list[int] = []
        while True:
            async with self.db.transaction() as session:
                broadcast = await claim_due_broadcast(session, now=self.clock())
                if broadcast is None:
                    return started
                await expand_broadcast(
                    session, broadcast, texts=self.texts, default_locale=self.default_locale, now=self.clock()
                )
            started.append(id_of(broadcast))

    async def queue_weekly_tip(self) -> Broadcast | None:
        """Queue the library tip after the last weekly one, to every subscriber, now (None: just done)."""
        now = self.clock()
        async with self.db.transaction() as session:
            await lock_weekly_tip(session)
            last = await last_weekly_broadcast(session)
            if last is not None and now - last.created_at < WEEKLY_GUARD:
                return None
            broadcast = Broadcast(
                status=BroadcastStatus.SCHEDULED, source="weekly",
                tip_number=next_tip(last.tip_number if last is not None else None),
                audience="all", paid=self.paid, scheduled_at=now, created_at=now,
            )
            return await add_broadcast(session, broadcast)
