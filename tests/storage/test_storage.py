"""Storage on a real SQLite file and on the machine's PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from storage import schema
from storage.conversations import clear_report, lock_conversation
from storage.database import Database, create_engine
from storage.models import Ticket
from storage.tickets import add_ticket, audit_of, matches_of, open_ticket_for_order, tickets_of_user
from storage.transactions import charges_of_order, save_transactions
from storage.updates import claim_update
from storage.users import choose_locale, remember_user
from tests.conftest import POSTGRES_URL, PostgresSchema

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def ticket(**overrides) -> Ticket:
    values = dict(reference="RF-AAAA2222", user_id=7, chat_id=7, locale="en", order_id="A1",
                  amount_minor=9900, currency="CNY", paid_at=NOW, status="verified",
                  report_key="k1", open_order_key="7:A1", created_at=NOW, updated_at=NOW)
    values.update(overrides)
    return Ticket(**values)


async def tables_of(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def stairway(database: Database) -> None:
    """Every revision goes up, down and up again."""
    for revision in schema.revisions():
        await schema.upgrade(database.engine, revision)
        await schema.downgrade(database.engine, "-1")
        await schema.upgrade(database.engine, revision)
    assert {"tickets", "transactions", "conversations", "processed_updates"} <= await tables_of(database)
    await schema.downgrade(database.engine, "base")
    assert await tables_of(database) <= {"alembic_version"}


async def test_migrations_stairway_on_sqlite(tmp_path):
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'stairs.sqlite3'}")
    await stairway(database)
    await database.dispose()


async def test_migrations_stairway_on_postgresql(postgres_schema: PostgresSchema):
    database = Database(create_engine(POSTGRES_URL, **postgres_schema.engine_options()))
    await stairway(database)
    await database.dispose()


async def test_times_come_back_aware_and_in_utc(db):
    shanghai = timezone(timedelta(hours=8))
    async with db.transaction() as session:
        await add_ticket(session, ticket=ticket(paid_at=datetime(2026, 11, 25, 14, 32, tzinfo=shanghai)),
                         matches=[], actor="payer:7", now=NOW)
    async with db.transaction() as session:
        [stored] = await tickets_of_user(session, user_id=7)
    assert stored.paid_at == datetime(2026, 11, 25, 6, 32, tzinfo=UTC)
    assert stored.paid_at.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(db):
    with pytest.raises(Exception, match="naive"):
        async with db.transaction() as session:
            session.add(ticket(paid_at=datetime(2026, 11, 25, 14, 32)))


async def test_an_update_is_claimed_once(db):
    async with db.transaction() as session:
        assert await claim_update(session, update_id=10**12, now=NOW) is True
        assert await claim_update(session, update_id=10**12, now=NOW) is False
    async with db.transaction() as session:
        assert await claim_update(session, update_id=10**12, now=NOW) is False
        assert await claim_update(session, update_id=5, now=NOW) is True


async def test_import_is_idempotent_on_transaction_id(db):
    row = dict(transaction_id="tx1", order_id="A1", payer_id="p1", amount_minor=9900, currency="CNY",
               status="succeeded", created_at=NOW)
    for _ in range(2):
        async with db.transaction() as session:
            await save_transactions(session, rows=[row, {**row, "transaction_id": "tx2",
                                                         "created_at": NOW + timedelta(seconds=20)}])
    async with db.transaction() as session:
        await save_transactions(session, rows=[{**row, "status": "refunded"}])
    async with db.transaction() as session:
        charges = await charges_of_order(session, order_id="A1")
    assert [(c.transaction_id, c.status) for c in charges] == [("tx1", "refunded"), ("tx2", "succeeded")]
    assert charges[0].created_at == NOW


async def test_one_open_ticket_per_user_and_order(db):
    async with db.transaction() as session:
        await add_ticket(session, ticket=ticket(), matches=[("tx1", "original"), ("tx2", "duplicate")],
                         actor="payer:7", now=NOW)
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await add_ticket(session, ticket=ticket(reference="RF-BBBB3333", report_key="k2"),
                             matches=[], actor="payer:7", now=NOW)
    async with db.transaction() as session:
        existing = await open_ticket_for_order(session, user_id=7, order_id="A1")
        assert existing.reference == "RF-AAAA2222"
        assert [(m.transaction_id, m.role) for m in await matches_of(session, ticket_id=existing.id)] == [
            ("tx1", "original"), ("tx2", "duplicate")]
        [birth] = await audit_of(session, ticket_id=existing.id)
        assert (birth.actor, birth.from_status, birth.to_status) == ("payer:7", None, "verified")
        assert await open_ticket_for_order(session, user_id=8, order_id="A1") is None


async def test_a_rolled_back_transaction_leaves_nothing(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await add_ticket(session, ticket=ticket(), matches=[], actor="payer:7", now=NOW)
            raise RuntimeError("crash mid-way")
    async with db.transaction() as session:
        assert await tickets_of_user(session, user_id=7) == []


async def test_conversation_row_survives_and_clears(db):
    async with db.transaction() as session:
        conversation = await lock_conversation(session, user_id=7, chat_id=7, now=NOW)
        conversation.step, conversation.order_id, conversation.amount_minor = "amount", "A1", 100
        session.add(conversation)
    async with db.transaction() as session:
        again = await lock_conversation(session, user_id=7, chat_id=7, now=NOW)
        assert (again.step, again.order_id) == ("amount", "A1")
        clear_report(again, now=NOW)
        session.add(again)
    async with db.transaction() as session:
        cleared = await lock_conversation(session, user_id=7, chat_id=7, now=NOW)
        assert (cleared.step, cleared.order_id, cleared.amount_minor) == (None, None, None)


async def test_users_keep_a_chosen_language(db):
    async with db.transaction() as session:
        user = await remember_user(session, user_id=7, first_name="Ann", username=None,
                                   guessed_locale="en", now=NOW)
        await choose_locale(session, user=user, locale="zh")
    async with db.transaction() as session:
        user = await remember_user(session, user_id=7, first_name="Ann B", username="ann",
                                   guessed_locale="en", now=NOW)
        assert (user.locale, user.locale_chosen, user.first_name) == ("zh", True, "Ann B")
