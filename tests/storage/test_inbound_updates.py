"""Updates recorded by the webhook: stored once per update_id, replayed until handled, pruned after."""

from datetime import UTC, datetime, timedelta

from storage.inbound_updates import forget_handled_before, mark_handled, record_update, unhandled_updates

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def an_update(update_id: int, text: str = "/start") -> dict:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "text": text,
                                                "chat": {"id": 7, "type": "private"}}}


async def test_an_update_is_recorded_once_and_replayed_until_handled(db):
    async with db.transaction() as session:
        assert await record_update(session, update=an_update(2**40, "订单 A1"), now=NOW) is True
        assert await record_update(session, update=an_update(2**40, "other"), now=NOW) is False
        assert await record_update(session, update=an_update(5), now=NOW) is True

    async with db.transaction() as session:
        waiting = await unhandled_updates(session, received_before=NOW + timedelta(seconds=1), limit=10)
        assert await unhandled_updates(session, received_before=NOW, limit=10) == []  # arrived since
    assert waiting == [an_update(5), an_update(2**40, "订单 A1")]  # oldest id first, the first body kept

    async with db.transaction() as session:
        await mark_handled(session, update_id=5, now=NOW)
        later = await unhandled_updates(session, received_before=NOW + timedelta(seconds=1), limit=10)
    assert [u["update_id"] for u in later] == [2**40]


async def test_handled_updates_are_forgotten_after_a_while(db):
    async with db.transaction() as session:
        for update_id in (1, 2, 3):
            await record_update(session, update=an_update(update_id), now=NOW)
        await mark_handled(session, update_id=1, now=NOW - timedelta(days=3))
        await mark_handled(session, update_id=2, now=NOW)

    async with db.transaction() as session:
        assert await forget_handled_before(session, before=NOW - timedelta(days=2)) == 1
        assert await record_update(session, update=an_update(1), now=NOW) is True  # gone, so new again
        assert await record_update(session, update=an_update(2), now=NOW) is False
