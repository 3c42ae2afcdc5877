"""The outbox table: dedupe keys, transactional first, leases that survive a crash."""

from datetime import UTC, datetime, timedelta

from storage.outbox import (
    BULK,
    TRANSACTIONAL,
    claim_due_messages,
    count_by_status,
    drop_pending_for_chat,
    enqueue,
    mark_sent,
    messages_to,
    postpone_pending_for_chat,
)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def test_a_dedupe_key_is_written_once(db):
    async with db.transaction() as session:
        assert await enqueue(session, dedupe_key="ticket:1:landed", chat_id=5, text="a", not_before=NOW)
        assert not await enqueue(session, dedupe_key="ticket:1:landed", chat_id=5, text="b", not_before=NOW)
    async with db.transaction() as session:
        assert await count_by_status(session) == {"pending": 1}


async def test_transactional_before_bulk_and_only_what_is_due(db):
    async with db.transaction() as session:
        await enqueue(session, dedupe_key="tip:1", chat_id=1, text="tip", priority=BULK, not_before=NOW)
        await enqueue(session, dedupe_key="later", chat_id=2, text="later",
                      not_before=NOW + timedelta(hours=1))
        await enqueue(session, dedupe_key="update", chat_id=3, text="update", priority=TRANSACTIONAL,
                      not_before=NOW + timedelta(seconds=1))
    async with db.transaction() as session:
        claimed = await claim_due_messages(session, now=NOW + timedelta(seconds=1), limit=10, lease=LEASE)
    assert [m.dedupe_key for m in claimed] == ["update", "tip:1"]
    assert all(m.attempts == 1 and m.status == "sending" for m in claimed)
    async with db.transaction() as session:
        assert await claim_due_messages(session, now=NOW + timedelta(seconds=2), limit=10, lease=LEASE) == []


async def test_a_lease_that_expires_is_claimed_again_but_a_sent_message_is_not(db):
    async with db.transaction() as session:
        await enqueue(session, dedupe_key="a", chat_id=1, text="a", not_before=NOW)
        await enqueue(session, dedupe_key="b", chat_id=1, text="b", not_before=NOW)
    async with db.transaction() as session:
        first, _ = await claim_due_messages(session, now=NOW, limit=10, lease=LEASE)
    async with db.transaction() as session:
        await mark_sent(session, message_id=first.id, now=NOW)
    # the sender died holding "b": after the lease it is due again, "a" is not
    async with db.transaction() as session:
        assert await claim_due_messages(session, now=NOW + timedelta(seconds=59), limit=10, lease=LEASE) == []
        [again] = await claim_due_messages(session, now=NOW + LEASE, limit=10, lease=LEASE)
    assert (again.dedupe_key, again.attempts) == ("b", 2)


async def test_blocking_drops_the_chat_pending_messages_only(db):
    async with db.transaction() as session:
        for key, chat in (("a", 1), ("b", 1), ("c", 2)):
            await enqueue(session, dedupe_key=key, chat_id=chat, text=key, not_before=NOW)
        assert await drop_pending_for_chat(session, chat_id=1, reason="blocked") == 2
    async with db.transaction() as session:
        assert await count_by_status(session) == {"dropped": 2, "pending": 1}


async def test_a_refusing_chat_has_its_waiting_messages_held_back_never_brought_forward(db):
    async with db.transaction() as session:
        await enqueue(session, dedupe_key="due", chat_id=-100, text="a", not_before=NOW)
        await enqueue(session, dedupe_key="later", chat_id=-100, text="b",
                      not_before=NOW + timedelta(hours=1))
        await enqueue(session, dedupe_key="other", chat_id=2, text="c", not_before=NOW)
        await enqueue(session, dedupe_key="gone", chat_id=-100, text="d", not_before=NOW, dropped_because="x")
        held = await postpone_pending_for_chat(session, chat_id=-100, not_before=NOW + timedelta(minutes=10))
    assert held == 1
    async with db.transaction() as session:
        times = {m.dedupe_key: m.not_before - NOW for m in await messages_to(session, chat_id=-100)}
        [other] = await messages_to(session, chat_id=2)
    assert times == {"due": timedelta(minutes=10), "later": timedelta(hours=1), "gone": timedelta(0)}
    assert other.not_before == NOW
