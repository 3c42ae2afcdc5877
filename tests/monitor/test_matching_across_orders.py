"""A duplicate on two orders, and tickets waiting for a person that later charges confirm."""

from handlers.monitor.arrivals import Source
from storage.models import TicketStatus
from tests.monitor.conftest import USER, charge

REPORT_O1 = {"order": "O1", "amount": "99.00", "paid_at": "2026-11-26 09:00"}  # tx1, Shanghai time


async def test_a_linked_payer_reporting_the_first_order_gets_the_second_order_refunded(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=3))
    await feed.world.report(USER, **REPORT_O1)
    [ticket] = await feed.tickets()
    assert (ticket.status, ticket.payer_check) == (TicketStatus.REFUND_PENDING, "linked")
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}  # the later charge, never the original


async def test_reporting_the_second_order_refunds_that_one(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=3))
    await feed.world.report(USER, order="O2", amount="99.00", paid_at="2026-11-26 09:03")
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}


async def test_someone_not_linked_to_the_payer_gets_a_person_not_a_refund(feed):
    await feed.link(user=USER)
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=3))
    await feed.world.report(55, **REPORT_O1)
    [ticket] = await feed.tickets()
    assert (ticket.status, ticket.payer_check) == (TicketStatus.NEEDS_REVIEW, "not_linked")
    assert await feed.world.refunds() == []


async def test_charges_further_apart_than_the_window_are_not_a_duplicate(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=12))
    await feed.world.report(USER, **REPORT_O1)
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW


async def test_a_late_charge_confirms_a_waiting_ticket_and_the_payer_is_told(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"))
    await feed.world.report(USER, **REPORT_O1)
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW
    await feed.arrive(charge("tx2", "O1", minutes=1), source=Source.IMPORT)  # a late import
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.REFUND_PENDING
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}
    told = [m.text for m in await feed.messages(USER)]
    assert any("records now confirm the duplicate" in text for text in told)


async def test_a_late_charge_on_another_order_confirms_a_waiting_ticket_of_a_linked_payer(manual_feed):
    feed = manual_feed
    await feed.link()
    await feed.arrive(charge("tx1", "O1"))
    await feed.world.report(USER, **REPORT_O1)
    await feed.arrive(charge("tx2", "O2", minutes=2))
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.VERIFIED  # confirmed; a person approves (no auto-approval here)
    assert await feed.world.refunds() == []


async def test_a_waiting_ticket_of_someone_else_stays_with_a_person(feed):
    await feed.arrive(charge("tx1", "O1"))
    await feed.link(user=USER)
    await feed.world.report(55, **REPORT_O1)
    await feed.arrive(charge("tx2", "O1", minutes=1))
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW
    assert await feed.world.refunds() == []


async def test_unrelated_charges_leave_waiting_tickets_alone(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"))
    await feed.world.report(USER, **REPORT_O1)
    await feed.arrive(charge("zz", "OTHER", payer="someone-else", minutes=1))
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW
