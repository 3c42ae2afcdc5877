"""Deleting screenshots nothing needs any more: those of cancelled or abandoned reports, and stray files."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.ports import Clock, EvidenceStore
from storage.database import Database
from storage.tickets import delete_unreferenced_evidence, hashes_in_use

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemovedEvidence:
    """An evidence row deleted with its file."""

    sha256: str
    size: int
    uploaded_by: int | None


@dataclass
class EvidenceCleanup:
    """What one run removed."""

    rows: list[RemovedEvidence] = field(default_factory=list)
    files_without_row: list[str] = field(default_factory=list)
    half_written_files: int = 0
    bytes_freed: int = 0


@dataclass
class EvidenceCollector:
    """Removes, after the retention, evidence no ticket, report in progress or unsent message refers to.

    Rows go first, in short transactions; their files after each commit. A crash in between leaves files
    without a row, which the scan of the store removes on the next run. Filed evidence is never touched.
    """

    db: Database
    evidence: EvidenceStore
    clock: Clock
    retention: timedelta | None = timedelta(days=7)
    batch: int = 500
    max_batches: int = 100

    async def collect(self) -> EvidenceCleanup:
        """One run (None retention: keep everything); what is left past `max_batches` waits for the next."""
        cleanup = EvidenceCleanup()
        if self.retention is None:
            return cleanup
        cutoff = self.clock() - self.retention
        await self._remove_unreferenced_rows(cutoff, cleanup)
        await self._remove_files_without_row(cutoff, cleanup)
        cleanup.half_written_files = await self.evidence.delete_abandoned_writes(older_than=cutoff)
        if cleanup.rows or cleanup.files_without_row or cleanup.half_written_files:
            log.info("removed %s unused screenshot(s) and %s file(s) without a row; %s bytes freed",
                     len(cleanup.rows), len(cleanup.files_without_row) + cleanup.half_written_files,
                     cleanup.bytes_freed)
        return cleanup

    async def _remove_unreferenced_rows(self, cutoff: datetime, cleanup: EvidenceCleanup) -> None:
        for _ in range(self.max_batches):
            async with self.db.transaction() as session:
                removed = await delete_unreferenced_evidence(
                    session, received_before=cutoff, limit=self.batch
                )
            for sha256, size, uploaded_by in removed:
                cleanup.rows.append(RemovedEvidence(sha256, size, uploaded_by))
                cleanup.bytes_freed += await self.evidence.delete(sha256, unless_modified_after=cutoff) or 0
            if len(removed) < self.batch:
                return

    async def _remove_files_without_row(self, cutoff: datetime, cleanup: EvidenceCleanup) -> None:
        stale = await self.evidence.hashes_older_than(cutoff)
        for batch in _chunks(stale, self.batch):
            async with self.db.transaction() as session:
                in_use = await hashes_in_use(session, sha256s=batch)
            for sha256 in batch:
                if sha256 in in_use:
                    continue
                freed = await self.evidence.delete(sha256, unless_modified_after=cutoff)
                if freed is not None:
                    cleanup.files_without_row.append(sha256)
                    cleanup.bytes_freed += freed


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start:start + size] for start in range(0, len(items), size)]
