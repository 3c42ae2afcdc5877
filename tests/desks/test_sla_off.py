"""SUPPORT_SLA=off means no SLA pings at all (not a silent default), and /queue says the SLA is off."""

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.charts import PillowChartDrawer
from handlers.events import EventKind
from handlers.support.cards import CardRenderer, SupportSettings
from handlers.support.desk import SupportDesk
from storage.models import OutboxMessage
from tests.conftest import make_sqlite
from tests.desks.support_group import ALICE, BOB, GROUP, NOW, TEXTS, event, file_ticket_with_card, replies
from tests.doubles import Clock
from tests.lifecycle.conftest import make_policy


@pytest.fixture
async def db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


def desk_with_sla(db, clock: Clock, sla: timedelta | None) -> SupportDesk:
    settings = SupportSettings(chat_id=GROUP, agent_ids=frozenset({ALICE.id, BOB.id}), sla=sla)
    return SupportDesk(db, CardRenderer(TEXTS, settings), make_policy(), clock, PillowChartDrawer())


async def sla_pings(db) -> int:
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))).all()
        return sum(1 for row in rows if row.dedupe_key.startswith("sla:"))


async def test_a_ticket_past_the_sla_is_pinged(db):
    await file_ticket_with_card(db)
    clock = Clock(NOW + timedelta(hours=5))
    assert await desk_with_sla(db, clock, timedelta(hours=4)).sweep_sla() == 1
    assert await sla_pings(db) == 1


async def test_sla_off_never_pings_however_long_a_ticket_waits(db):
    await file_ticket_with_card(db)
    desk = desk_with_sla(db, Clock(NOW + timedelta(days=30)), None)
    assert await desk.sweep_sla() == 0
    assert await desk.sweep_sla() == 0
    assert await sla_pings(db) == 0


async def test_the_queue_says_the_sla_is_off(db):
    filed = await file_ticket_with_card(db)
    desk = desk_with_sla(db, Clock(NOW + timedelta(hours=5)), None)
    outputs = await desk.handle(event(ALICE, GROUP, EventKind.COMMAND, text="/queue", command="queue"))
    [queue] = replies(outputs)
    assert filed.reference in queue.text and "SLA off" in queue.text
