"""Builds the parts from the settings: database, texts, evidence store, desks."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Settings
from handlers.payer_desk import PayerDesk
from handlers.ports import Clock, FileDownloader
from handlers.texts import Texts
from handlers.turn import IntakeRules
from storage import schema
from storage.database import Database
from storage.evidence_files import EvidenceFiles


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Services:
    """What every runtime needs, built once per process."""

    settings: Settings
    db: Database
    texts: Texts
    evidence: EvidenceFiles
    clock: Clock

    def payer_desk(self, files: FileDownloader) -> PayerDesk:
        """The payer desk, downloading files through the runtime's bot."""
        rules = IntakeRules(
            default_currency=self.settings.default_currency,
            zone=self.settings.zone,
            refund_window_days=self.settings.refund_window_days,
        )
        return PayerDesk(self.db, self.texts, rules, self.evidence, files, self.clock,
                         self.settings.default_locale)

    async def close(self) -> None:
        """Release the database connections."""
        await self.db.dispose()


async def build_services(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                         migrate: bool = True, engine_options: dict | None = None) -> Services:
    """Open (and migrate) the database and load the catalogs."""
    db = Database.connect(settings.resolved_database_url, **(engine_options or {}))
    if migrate:
        await schema.upgrade(db.engine)
    evidence = EvidenceFiles(settings.data_dir / "evidence")
    return Services(settings, db, Texts.load(), evidence, clock)
