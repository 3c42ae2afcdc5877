"""Builds the parts from the settings: database, texts, evidence store, desks."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.charts import PillowChartDrawer
from bot.config import Settings
from bot.log_redaction import Redactor
from bot.providers.ledger import LedgerProvider
from handlers.delivery.notices import Notifier
from handlers.delivery.pacing import RateGate
from handlers.delivery.pruning import Pruner, Retention
from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.evidence.cleanup import EvidenceCollector
from handlers.money import Money
from handlers.monitor.arrivals import ChargeWatch
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.ports import (
    Clock,
    EvidenceStore,
    EvidenceUnavailable,
    FileDownloader,
    Messenger,
    PaymentProvider,
)
from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.support.cards import CardPublisher, CardRenderer, SupportSettings
from handlers.support.desk import SupportDesk
from handlers.texts import Texts
from storage import schema
from storage.database import Database
from storage.evidence_files import EvidenceFiles

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Services:
    """What every runtime needs, built once per process."""

    settings: Settings
    db: Database
    texts: Texts
    evidence: EvidenceStore
    clock: Clock
    provider: PaymentProvider
    _support: SupportSettings | None = None
    _gate: RateGate | None = None

    def refund_policy(self) -> RefundPolicy:
        """How refunds are created, followed and announced."""
        settings = self.settings
        schedule = UpdateSchedule(
            intervals=settings.status_update_intervals,
            quiet_hours=settings.quiet_hours,
            zone=settings.zone,
            overdue_grace=settings.overdue_grace,
        )
        limit = settings.auto_refund_limit
        eta, eta_by_method = settings.refund_time
        return RefundPolicy(
            provider=self.provider,
            schedule=schedule,
            eta=eta,
            eta_by_method=eta_by_method,
            notifier=Notifier(self.texts, settings.support_chat_id, settings.default_locale),
            auto_refund_limit=Money(limit, settings.default_currency) if limit is not None else None,
            duplicate_window=settings.duplicate_window,
        )

    def charge_watch(self) -> ChargeWatch:
        """What happens when charges arrive: the duplicate monitor's settings and re-matching."""
        settings = self.settings
        return ChargeWatch(
            policy=self.refund_policy(),
            texts=self.texts,
            default_locale=settings.default_locale,
            merchant_admin_ids=settings.merchant_admin_ids,
            alert_rate=settings.duplicate_alert_rate,
            alert_min_charges=settings.duplicate_alert_min_charges,
            alert_period=settings.duplicate_alert_period,
            monitor_on=settings.duplicate_monitor,
        )

    def support_settings(self) -> SupportSettings:
        """The support group as configured (whether it has topics is found out at start-up)."""
        if self._support is None:
            settings = self.settings
            self._support = SupportSettings(
                chat_id=settings.support_chat_id,
                agent_ids=frozenset(settings.support_user_ids),
                locale=settings.default_locale,
                zone=settings.zone,
                sla=settings.support_sla,
                prompt_timeout=settings.prompt_timeout,
            )
        return self._support

    def card_renderer(self) -> CardRenderer:
        """What support cards say."""
        window = self.settings.duplicate_window
        return CardRenderer(self.texts, self.support_settings(), duplicate_window=window)

    def card_publisher(self, messenger: Messenger) -> CardPublisher:
        """Posts and refreshes support cards through the runtime's messenger."""
        return CardPublisher(self.db, self.card_renderer(), self.evidence, messenger, self.clock)

    def support_desk(self) -> SupportDesk:
        """The support group's handler."""
        charts = PillowChartDrawer()
        return SupportDesk(self.db, self.card_renderer(), self.refund_policy(), self.clock, charts)

    def follow_ups(self) -> FollowUps:
        """The sweep of due status updates."""
        return FollowUps(self.db, self.refund_policy(), self.clock)

    def delivery(self, messenger: Messenger) -> DeliveryWorker:
        """The outbox worker sending through the runtime's messenger (cards included)."""
        secrets = (self.settings.bot_token, self.settings.merchant_webhook_secret, self.settings.link_secret)
        redact = Redactor(secret.get_secret_value() for secret in secrets)
        cards = self.card_publisher(messenger)
        return DeliveryWorker(self.db, messenger, self.clock, self.delivery_policy(), cards=cards,
                              redact=redact, gate=self.rate_gate())

    def delivery_policy(self) -> DeliveryPolicy:
        """How fast the outbox sends (OUTBOX_RATE, the paid broadcast rate) and how long a claim lasts."""
        settings = self.settings
        paid_rate = settings.broadcast_paid_rate if settings.broadcast_paid else None
        return DeliveryPolicy(rate_per_second=settings.outbox_rate, lease=settings.outbox_lease,
                              paid_broadcast_rate=paid_rate)

    def rate_gate(self) -> RateGate | None:
        """RATE_LIMIT_URL's gate shared by every instance (one per process); None: the worker's own."""
        url = self.settings.rate_limit_url.get_secret_value()
        if not url:
            return None
        if self._gate is None:
            from bot.rate_redis import RedisGate

            policy = self.delivery_policy()
            bot_id = self.settings.bot_token.get_secret_value().partition(":")[0]
            self._gate = RedisGate(url, rate_per_second=policy.rate_per_second,
                                   per_chat_interval=policy.per_chat_interval,
                                   paid_rate=policy.paid_broadcast_rate,
                                   prefix=f"refund-bot:{bot_id}:rate")  # bots sharing one Redis: each its own
        return self._gate

    def pruner(self) -> Pruner:
        """Deletes handled-update ids and finished outbox messages past their retention."""
        retention = Retention(
            processed_updates=self.settings.processed_updates_retention,
            outbox=self.settings.outbox_retention,
        )
        return Pruner(self.db, self.clock, retention)

    def evidence_collector(self) -> EvidenceCollector:
        """Deletes screenshots nothing refers to once EVIDENCE_RETENTION has passed."""
        return EvidenceCollector(
            self.db, self.evidence, self.clock, self.settings.evidence_retention
        )

    def payer_desk(self, files: FileDownloader) -> PayerDesk:
        """The payer desk, downloading files through the runtime's bot."""
        rules = IntakeRules(
            default_currency=self.settings.default_currency,
            zone=self.settings.zone,
            refund_window_days=self.settings.refund_window_days,
            max_open_tickets=self.settings.max_open_tickets,
            max_reports_per_day=self.settings.max_reports_per_day,
            evidence_quota_bytes=self.settings.evidence_quota_mb * 1024 * 1024,
            merchant_names=self.settings.merchant_names,
            duplicate_window=self.settings.duplicate_window,
            link_secret=self.settings.link_secret_bytes,
            merchant_admin_ids=frozenset(self.settings.merchant_admin_ids),
        )
        return PayerDesk(
            self.db,
            self.texts,
            rules,
            self.evidence,
            files,
            self.clock,
            self.settings.default_locale,
            self.refund_policy(),
            charts=PillowChartDrawer(),
        )

    async def close(self) -> None:
        """Release the database connections (and the provider's HTTP session)."""
        closer = getattr(self.provider, "close", None)
        if closer is not None:
            await closer()
        evidence_closer = getattr(self.evidence, "close", None)
        if evidence_closer is not None:
            evidence_closer()
        gate_closer = getattr(self._gate, "close", None)
        if gate_closer is not None:
            await gate_closer()
        await self.db.dispose()


async def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
    engine_options: dict | None = None,
) -> Services:
    """Open (and migrate) the database and load the catalogs."""
    db = Database.connect(settings.resolved_database_url, **(engine_options or {}))
    if migrate:
        await schema.upgrade(db.engine)
    evidence = await make_evidence_store(settings)
    return Services(settings, db, Texts.load(), evidence, clock, make_provider(settings))


async def make_evidence_store(settings: Settings) -> EvidenceStore:
    """EVIDENCE_STORE's store; an S3 bucket out of reach is said at start-up (payers are asked to retry)."""
    if settings.evidence_store != "s3":
        return EvidenceFiles(settings.data_dir / "evidence")
    from bot.evidence_s3 import S3EvidenceStore

    store = S3EvidenceStore.from_settings(settings)
    try:
        await store.check()
    except EvidenceUnavailable as error:
        log.error("EVIDENCE_STORE=s3: cannot reach the bucket (%s); screenshots cannot be kept until it is",
                  error)
    return store


def make_provider(settings: Settings) -> PaymentProvider:
    """The configured payment provider."""
    if settings.payment_provider == "webhook":
        from bot.providers.webhook import WebhookProvider

        secret = settings.merchant_webhook_secret.get_secret_value()
        return WebhookProvider(settings.merchant_refund_url, secret)
    return LedgerProvider(settings.ledger_settlement_delay)
