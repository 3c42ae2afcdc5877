"""Forgetting what no longer matters: old handled-update ids and finished outbox messages."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.ports import Clock
from storage.database import Database
from storage.outbox import delete_finished_before
from storage.updates import forget_updates_before

log = logging.getLogger(__name__)

Deleter = Callable[..., Awaitable[int]]


@dataclass(frozen=True)
class Retention:
    """How long rows are kept (None: forever), and how many are deleted per transaction and per run."""

    processed_updates: timedelta | None = timedelta(hours=48)
    outbox: timedelta | None = timedelta(days=30)
    batch: int = 500
    max_batches: int = 20


@dataclass
class PruneReport:
    """How many rows one run deleted, per table."""

    processed_updates: int = 0
    outbox: int = 0


@dataclass
class Pruner:
    """Deletes old rows in small batches, one short transaction each, so no table is locked for long."""

    db: Database
    clock: Clock
    retention: Retention = field(default_factory=Retention)

    async def prune(self) -> PruneReport:
        """One run: at most `max_batches` batches per table; what is left waits for the next run."""
        now, retention = self.clock(), self.retention
        report = PruneReport(
            processed_updates=await self._delete(forget_updates_before, now, retention.processed_updates),
            outbox=await self._delete(delete_finished_before, now, retention.outbox),
        )
        if report.processed_updates or report.outbox:
            log.info("pruned %s handled-update ids and %s finished outbox messages",
                     report.processed_updates, report.outbox)
        return report

    async def _delete(self, deleter: Deleter, now: datetime, kept: timedelta | None) -> int:
        if kept is None:
            return 0
        total = 0
        for _ in range(self.retention.max_batches):
            async with self.db.transaction() as session:
                deleted = await deleter(session, before=now - kept, limit=self.retention.batch)
            total += deleted
            if deleted < self.retention.batch:
                break
        return total
