"""Pruning: old handled-update ids and finished outbox messages go, in bounded batches; the rest stays."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.scheduler import PRUNING_TICK, Ticker
from handlers.delivery.pruning import Pruner, Retention
from storage.models import OutboxMessage, ProcessedUpdate
from storage.outbox import (
    claim_due_messages,
    count_by_status,
    delete_finished_before,
    enqueue,
    mark_failed,
    mark_sent,
)
from storage.updates import claim_update, forget_updates_before
from tests.doubles import Clock

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
OLD_UPDATE = NOW - timedelta(hours=72)
OLD_MESSAGE = NOW - timedelta(days=40)


async def update_ids(db) -> list[int]:
    async with db.transaction() as session:
        return sorted((await session.exec(ProcessedUpdate.__table__.select())).scalars().all())


async def outbox_keys(db) -> set[str]:
    async with db.transaction() as session:
        return {row.dedupe_key for row in (await session.exec(OutboxMessage.__table__.select())).all()}


async def seed_updates(db) -> None:
    async with db.transaction() as session:
        for update_id in range(1, 6):
            await claim_update(session, update_id=update_id, now=OLD_UPDATE)
        await claim_update(session, update_id=6, now=NOW - timedelta(hours=47))
        await claim_update(session, update_id=7, now=NOW)


async def seed_outbox(db) -> None:
    """Old rows in every status, and young finished ones."""
    async with db.transaction() as session:
        for key in ("old-sent", "old-failed", "old-pending", "old-sending"):
            await enqueue(session, dedupe_key=key, chat_id=1, text=key, not_before=OLD_MESSAGE)
        await enqueue(session, dedupe_key="old-dropped", chat_id=2, text="x", not_before=OLD_MESSAGE,
                      dropped_because="the user blocked the bot")
        await enqueue(session, dedupe_key="young-sent", chat_id=3, text="x",
                      not_before=NOW - timedelta(days=29))
    async with db.transaction() as session:
        claimed = {m.dedupe_key: m for m in await claim_due_messages(
            session, now=NOW - timedelta(days=29), limit=10, lease=timedelta(days=365))}
    async with db.transaction() as session:
        await mark_sent(session, message_id=claimed["old-sent"].id, now=OLD_MESSAGE)
        await mark_sent(session, message_id=claimed["young-sent"].id, now=NOW)
        await mark_failed(session, message_id=claimed["old-failed"].id, error="gave up")
        # "old-pending" goes back to the queue (e.g. the support group has been refusing it for weeks)
        await session.exec(OutboxMessage.__table__.update()
                           .where(OutboxMessage.dedupe_key == "old-pending").values(status="pending"))
    async with db.transaction() as session:
        assert await count_by_status(session) == {
            "sent": 2, "failed": 1, "dropped": 1, "pending": 1, "sending": 1,
        }


async def test_old_update_ids_go_young_ones_stay_and_a_batch_is_bounded(db):
    await seed_updates(db)
    async with db.transaction() as session:
        assert await forget_updates_before(session, before=NOW - timedelta(hours=48), limit=2) == 2
    assert await update_ids(db) == [3, 4, 5, 6, 7]  # the oldest ids went first
    async with db.transaction() as session:
        assert await forget_updates_before(session, before=NOW - timedelta(hours=48), limit=10) == 3
    assert await update_ids(db) == [6, 7]


async def test_only_finished_old_messages_go_and_a_batch_is_bounded(db):
    await seed_outbox(db)
    async with db.transaction() as session:
        assert await delete_finished_before(session, before=NOW - timedelta(days=30), limit=2) == 2
    assert await outbox_keys(db) == {"old-dropped", "old-pending", "old-sending", "young-sent"}
    async with db.transaction() as session:
        assert await delete_finished_before(session, before=NOW - timedelta(days=30), limit=10) == 1
    assert await outbox_keys(db) == {"old-pending", "old-sending", "young-sent"}


async def test_a_run_deletes_in_batches_up_to_its_bound_and_the_next_run_finishes(db):
    await seed_updates(db)
    await seed_outbox(db)
    pruner = Pruner(db, Clock(NOW), Retention(batch=2, max_batches=2))
    first = await pruner.prune()
    assert (first.processed_updates, first.outbox) == (4, 3)
    assert await update_ids(db) == [5, 6, 7]
    second = await pruner.prune()
    assert (second.processed_updates, second.outbox) == (1, 0)
    assert await update_ids(db) == [6, 7]
    assert await outbox_keys(db) == {"old-pending", "old-sending", "young-sent"}


async def test_off_keeps_rows_forever(db):
    await seed_updates(db)
    pruner = Pruner(db, Clock(NOW), Retention(processed_updates=None, outbox=None))
    report = await pruner.prune()
    assert (report.processed_updates, report.outbox) == (0, 0)
    assert await update_ids(db) == [1, 2, 3, 4, 5, 6, 7]


def test_the_clock_prunes_hourly():
    ticker = Ticker(None, None, timedelta(seconds=30), pruner=Pruner(None, Clock(NOW)))
    job = ticker.scheduler.get_job("prune_old_rows")
    assert job is not None and job.trigger.interval == PRUNING_TICK == timedelta(hours=1)


def test_retention_settings_are_read_and_checked():
    settings = load_settings(bot_token="1:x", processed_updates_retention="3d", outbox_retention="off")
    assert (settings.processed_updates_retention, settings.outbox_retention) == (timedelta(days=3), None)
    with pytest.raises(ConfigError, match=r"PROCESSED_UPDATES_RETENTION: .*at least 24h"):
        load_settings(bot_token="1:x", processed_updates_retention="12h")
    with pytest.raises(ConfigError, match="OUTBOX_RETENTION"):
        load_settings(bot_token="1:x", outbox_retention="soon")
