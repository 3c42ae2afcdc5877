"""APScheduler as the clock: a few fixed jobs that claim what is due. No job per ticket."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.in_flight import InFlight
from handlers.delivery.pruning import Pruner
from handlers.delivery.worker import DeliveryWorker
from handlers.evidence.cleanup import EvidenceCollector
from handlers.merchant.delivery import BroadcastStarter
from handlers.merchant.progress import BroadcastProgress
from handlers.refunds.follow_ups import FollowUps
from handlers.support.desk import SupportDesk

log = logging.getLogger(__name__)
# APScheduler logs two INFO lines per run of every job; the delivery job runs every second.
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
STOP_GRACE_SECONDS = 15
DELIVERY_TICK = timedelta(seconds=1)
PROGRESS_TICK = timedelta(seconds=1)  # the progress message itself is edited every few seconds at most
PRUNING_TICK = timedelta(hours=1)
# Daily; the first run a little after start-up, so a bot restarted every day still cleans up.
EVIDENCE_GC_TICK, EVIDENCE_GC_FIRST_RUN = timedelta(days=1), timedelta(minutes=10)


@dataclass
class Ticker:
    """Ticks the due-update sweep, the outbox drain, the pruning of old rows, the screenshot clean-up, and
    the broadcasts: starting due ones, their progress, the weekly tip."""

    follow_ups: FollowUps
    delivery: DeliveryWorker
    sweep_interval: timedelta
    support: SupportDesk | None = None
    pruner: Pruner | None = None
    evidence_gc: EvidenceCollector | None = None
    broadcasts: BroadcastStarter | None = None
    progress: BroadcastProgress | None = None
    weekly_tip: BaseTrigger | None = None  # WEEKLY_TIP's cron trigger, in the bot's zone

    def __post_init__(self) -> None:
        self.ticking = InFlight()  # ticks in progress
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self.scheduler.add_job(
            self._tick,
            "interval",
            args=[self._sweep],
            seconds=self.sweep_interval.total_seconds(),
            id="sweep_due_updates",
            next_run_time=None,
        )
        self.scheduler.add_job(
            self._tick, "interval", args=[self._deliver], seconds=DELIVERY_TICK.total_seconds(),
            id="deliver_outbox",
        )
        if self.pruner is not None:
            self.scheduler.add_job(
                self._tick, "interval", args=[self._prune], seconds=PRUNING_TICK.total_seconds(),
                id="prune_old_rows",
            )
        if self.evidence_gc is not None:
            self.scheduler.add_job(
                self._tick,
                "interval",
                args=[self._collect_evidence],
                seconds=EVIDENCE_GC_TICK.total_seconds(),
                id="collect_unused_evidence",
                next_run_time=_now() + EVIDENCE_GC_FIRST_RUN,
            )
        self._add_broadcast_jobs()

    def _add_broadcast_jobs(self) -> None:
        # Separate jobs from the outbox drain, which runs as long as a broadcast has messages waiting.
        if self.broadcasts is not None:
            self.scheduler.add_job(
                self._tick, "interval", args=[self._start_broadcasts], seconds=DELIVERY_TICK.total_seconds(),
                id="start_due_broadcasts",
            )
            if self.weekly_tip is not None:
                self.scheduler.add_job(self._tick, self.weekly_tip, args=[self._queue_weekly_tip],
                                       id="weekly_tip")
        if self.progress is not None:
            self.scheduler.add_job(
                self._tick, "interval", args=[self._report_progress], seconds=PROGRESS_TICK.total_seconds(),
                id="broadcast_progress",
            )

    def start(self) -> None:
        """Start ticking (the sweep also runs at once)."""
        self.scheduler.start()
        self.scheduler.modify_job("sweep_due_updates", next_run_time=_now())

    async def stop(self, timeout: float = STOP_GRACE_SECONDS) -> bool:
        """Stop ticking and let a tick in progress finish its batch, so the database can close after it.

        False if a tick was still running at the timeout.
        """
        # Shutting APScheduler down cancels the jobs it is running (mid-commit, say): pause, wait, then stop.
        self.scheduler.pause()
        finished = await self.ticking.drained(timeout)
        self.scheduler.shutdown(wait=False)
        return finished

    async def _tick(self, job: Callable[[], Awaitable[None]]) -> None:
        async with self.ticking:
            await job()

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

    async def _start_broadcasts(self) -> None:
        try:
            await self.broadcasts.start_due()
        except Exception:
            log.exception("starting due broadcasts failed; it runs again at the next tick")

    async def _queue_weekly_tip(self) -> None:
        try:
            queued = await self.broadcasts.queue_weekly_tip()
        except Exception:
            log.exception("queueing the weekly tip failed; it runs again at its next time")
            return
        if queued is not None:
            log.info("weekly tip %s queued as broadcast %s", queued.tip_number, queued.id)

    async def _report_progress(self) -> None:
        try:
            await self.progress.report()
        except Exception:
            log.exception("broadcast progress failed; it runs again at the next tick")

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
