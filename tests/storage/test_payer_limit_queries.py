"""The counts behind the per-payer limits: open tickets, and filings in a window (newest first, bounded)."""

from datetime import UTC, datetime, timedelta

from storage.models import Ticket
from storage.tickets import add_ticket, count_open_tickets, filing_record, recent_filing_times

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def file(db, *, number: int, user_id: int, status: str, hours_ago: float) -> None:
    at = NOW - timedelta(hours=hours_ago)
    async with db.transaction() as session:
        ticket = Ticket(reference=f"RF-{number:08d}", user_id=user_id, chat_id=user_id, locale="en",
                        amount_minor=100, currency="CNY", paid_at=at, status=status,
                        report_key=f"k{number}", created_at=at, updated_at=at)
        await add_ticket(session, ticket=ticket, matches=[], actor="test", now=at)


async def test_open_tickets_and_recent_filings_of_one_payer(db):
    statuses = ["verified", "needs_info", "refund_pending", "refund_failed",  # open
                "refunded", "rejected", "cancelled"]  # closed
    for number, status in enumerate(statuses):
        await file(db, number=number, user_id=7, status=status, hours_ago=number * 5)
    await file(db, number=99, user_id=8, status="needs_review", hours_ago=0)
    async with db.transaction() as session:
        assert await count_open_tickets(session, user_id=7) == 4
        assert await count_open_tickets(session, user_id=9) == 0
        window = await recent_filing_times(session, user_id=7, since=NOW - timedelta(hours=24), limit=10)
        bounded = await recent_filing_times(session, user_id=7, since=NOW - timedelta(hours=24), limit=2)
    assert [NOW - at for at in window] == [timedelta(hours=h) for h in (0, 5, 10, 15, 20)]
    assert [NOW - at for at in bounded] == [timedelta(hours=0), timedelta(hours=5)]


async def test_one_query_gives_both_figures(db):
    """The desk's single query agrees with the two it replaces, an open ticket outside the window included."""
    statuses = ["needs_review", "refunded", "verified", "rejected", "needs_info", "cancelled",
                "refund_pending"]
    for number, status in enumerate(statuses):
        await file(db, number=number, user_id=7, status=status, hours_ago=number * 7)  # 0 … 42 hours ago
    since = NOW - timedelta(hours=24)
    async with db.transaction() as session:
        for limit in (1, 2, 10):
            record = await filing_record(session, user_id=7, since=since, limit=limit)
            assert record.open_count == await count_open_tickets(session, user_id=7)
            assert record.recent == await recent_filing_times(session, user_id=7, since=since, limit=limit)
            assert record.open_order_keys == frozenset()  # these tickets have no order number
        nobody = await filing_record(session, user_id=9, since=since, limit=5)
    assert (nobody.open_count, nobody.recent, nobody.open_order_keys) == (0, [], frozenset())
    assert record.open_count == 4
    assert [NOW - at for at in record.recent] == [timedelta(hours=h) for h in (0, 7, 14, 21)]
