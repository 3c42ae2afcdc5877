"""APScheduler as the clock: a few fixed jobs that claim what is due. No job per ticket."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.delivery.pruning import Pruner
from handlers.delivery.worker import DeliveryWorker
from handlers.evidence.cleanup import EvidenceCollector
from handlers.refunds.follow_ups import FollowUps
from handlers.support.desk import SupportDesk

log = logging.getLogger(__name__)
DELIVERY_TICK = timedelta(seconds=1)
PRUNING_TICK = timedelta(hours=1)
# Daily; the first run a little after start-up, so a bot restarted every day still cleans up.
EVIDENCE_GC_TICK, EVIDENCE_GC_FIRST_RUN = timedelta(days=1), timedelta(minutes=10)


@dataclass
class Ticker:
    """Ticks the due-update sweep, the outbox drain, the pruning of old rows and the screenshot clean-up."""

    follow_ups: FollowUps
    delivery: DeliveryWorker
    sweep_interval: timedelta
    support: SupportDesk | None = None
    pruner: Pruner | None = None
    evidence_gc: EvidenceCollector | None = None

    def __post_init__(self) -> None:
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self.scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self.sweep_interval.total_seconds(),
            id="sweep_due_updates",
            next_run_time=None,
        )
        self.scheduler.add_job(
            self._deliver, "interval", seconds=DELIVERY_TICK.total_seconds(), id="deliver_outbox"
        )
        if self.pruner is not None:
            self.scheduler.add_job(
                self._prune, "interval", seconds=PRUNING_TICK.total_seconds(), id="prune_old_rows"
            )
        if self.evidence_gc is not None:
            self.scheduler.add_job(
                self._collect_evidence,
                "interval",
                seconds=EVIDENCE_GC_TICK.total_seconds(),
                id="collect_unused_evidence",
                next_run_time=_now() + EVIDENCE_GC_FIRST_RUN,
            )

    def start(self) -> None:
        """Start ticking (the sweep also runs at once)."""
        self.scheduler.start()
        self.scheduler.modify_job("sweep_due_updates", next_run_time=_now())

    def stop(self) -> None:
        """Stop ticking; a job in progress is left to finish its batch."""
        self.scheduler.shutdown(wait=False)

    async def _sweep(self) -> None:
        try:
            await self.follow_ups.sweep()
            if self.support is not None:
                await self.support.sweep_sla()
        except Exception:
            log.exception("sweep of due updates failed; it runs again at the next tick")

    async def _deliver(self) -> None:
        try:
            await self.delivery.drain()
            if self.delivery.cards is not None and self.delivery.cards.support.chat_id is not None:
                await self.delivery.cards.sync()
        except Exception:
            log.exception("outbox delivery failed; it runs again at the next tick")

    async def _prune(self) -> None:
        try:
            await self.pruner.prune()
        except Exception:
            log.exception("pruning old rows failed; it runs again at the next tick")

    async def _collect_evidence(self) -> None:
        try:
            await self.evidence_gc.collect()
        except Exception:
            log.exception("clean-up of unused screenshots failed; it runs again tomorrow")


def _now() -> datetime:
    return datetime.now(UTC)
