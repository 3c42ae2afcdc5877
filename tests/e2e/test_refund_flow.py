"""The refund after the report, through the real runtime: notices via the outbox, payer buttons, blocking."""

import asyncio
from datetime import timedelta

from handlers.refunds.refunding import land_refund
from handlers.refunds.requests import approve_and_send
from storage.models import OutboxMessage, User
from storage.outbox import messages_to
from storage.refunds import refund_of_ticket
from storage.tickets import all_tickets, audit_of, ticket_by_reference
from telegram_sandbox.client import buttons
from tests.e2e.conftest import NOW
from tests.e2e.test_report_flow import CHARGE_1, CHARGE_2, report_until_review


async def restart_with(harness, **overrides) -> None:
    await harness.stop()
    harness.overrides.update(overrides)
    await harness.start()
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("tx2", "A1", "99.00", "CNY", "succeeded", CHARGE_2))


async def file(payer) -> dict:
    review = await report_until_review(payer, order="A1", amount="99")
    [filed] = await payer.press(review, "Submit")
    return filed


async def next_notice(payer, after: dict) -> dict:
    [notice] = await payer.client.wait_for_bot_messages(payer.id, after_message_id=after["message_id"],
                                                        count=1, timeout=15)
    return notice


async def the_ticket(harness):
    async with harness.running.services.db.transaction() as session:
        [ticket] = await all_tickets(session)
        refund = await refund_of_ticket(session, ticket_id=ticket.id)
        audit = [(a.from_status, a.to_status, a.actor) for a in await audit_of(session, ticket_id=ticket.id)]
        return ticket, refund, audit


async def test_auto_approved_refund_settles_lands_and_is_rated(harness, payer):
    await restart_with(harness, auto_refund_limit="100", ledger_settlement_delay="10s")
    filed = await file(payer)
    assert "duplicate is confirmed" in filed["text"]
    started = await next_notice(payer, filed)
    assert "a refund of CN¥99.00 for the duplicate charge is on its way" in started["text"]
    assert "Dec 10, 2026" in started["text"]  # ten business days after Thursday 26 Nov
    assert [label for label, _ in buttons(started)] == ["✅ Received"]
    ticket, refund, audit = await the_ticket(harness)
    assert (ticket.status, refund.transaction_id) == ("refund_pending", "tx2")
    assert audit[1:] == [("verified", "approved", "policy:auto-approve"),
                         ("approved", "refund_pending", "provider:ledger")]

    harness.clock.now = NOW + timedelta(seconds=11)
    landed = await next_notice(payer, started)
    assert "Your refund of CN¥99.00" in landed["text"] and "has landed" in landed["text"]
    assert [label for label, _ in buttons(landed)][:2] == ["✅ Received", "Not yet"]
    [rated] = await payer.press(landed, "5⭐")
    assert "Thank you for rating us 5/5!" in rated["text"]
    [thanks] = await payer.press(landed, "Received")
    assert "Thank you for confirming!" in thanks["text"]
    ticket, refund, audit = await the_ticket(harness)
    assert (ticket.status, ticket.rating, ticket.receipt, refund.status) == ("refunded", 5, "received",
                                                                            "succeeded")
    assert audit[-1] == ("refund_pending", "refunded", "ledger:settlement")


async def test_received_while_pending_lands_a_ledger_refund_and_not_yet_reopens(harness, payer):
    await restart_with(harness, auto_refund_limit="100")
    started = await next_notice(payer, await file(payer))
    [thanks, landed] = await payer.press(started, "Received", count=2)
    assert "Thank you for confirming!" in thanks["text"] and "has landed" in landed["text"]
    [reopened] = await payer.press(landed, "Not yet")
    assert "I've reopened" in reopened["text"]
    ticket, _, audit = await the_ticket(harness)
    assert (ticket.status, ticket.receipt) == ("needs_review", "not_yet")
    assert audit[-2:] == [("refund_pending", "refunded", f"payer:{payer.id}"),
                          ("refunded", "needs_review", f"payer:{payer.id}")]


async def test_a_payer_cancels_a_ticket_from_status(harness, payer):
    review = await report_until_review(payer, order="C-1")
    await payer.press(review, "Submit")
    status = await payer.ask("/status")
    [reference] = [label.split()[-1] for label, _ in buttons(status)]
    [cancelled] = await payer.press(status, f"Cancel {reference}")
    assert f"Ticket {reference} is cancelled" in cancelled["text"]
    [again] = await payer.press(status, f"Cancel {reference}")
    assert "can no longer be cancelled" in again["text"]
    ticket, _, audit = await the_ticket(harness)
    assert (ticket.status, ticket.open_order_key) == ("cancelled", None)
    assert audit[-1] == ("needs_review", "cancelled", f"payer:{payer.id}")
    await payer.say("/report")
    assert "How much" in (await payer.ask("C-1"))["text"]  # the order may be reported again


async def test_someone_elses_ticket_buttons_do_nothing(harness, payer, client):
    await restart_with(harness, auto_refund_limit="100")
    started = await next_notice(payer, await file(payer))
    reference = started["text"].split()[3].rstrip(":")
    intruder_id = 9009
    await client.create_user(intruder_id, first_name="Mallory")
    await client.send_text(intruder_id, "/start")
    for action in ("received", "notyet", "rate:1", "cancel"):
        await client.press(intruder_id, 1, f"tk:{reference}:{action}", from_id=intruder_id, forge=True)
    await client.wait_for_bot_messages(intruder_id, count=1, timeout=15)

    async def refusals() -> list[dict]:
        return [a for a in await client.callback_answers() if "no longer does anything" in (a["text"] or "")]

    async def all_refused() -> bool:
        return len(await refusals()) >= 4

    await wait_until(all_refused)
    assert len(await refusals()) == 4
    ticket, _, _ = await the_ticket(harness)
    assert (ticket.status, ticket.rating, ticket.receipt) == ("refund_pending", None, None)


async def wait_until(predicate, timeout: float = 10) -> None:
    """Wait for a condition the bot reaches asynchronously (a handled my_chat_member update)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_blocking_drops_notices_and_unblocking_restores_delivery(harness, payer, client):
    await restart_with(harness)
    await file(payer)
    services = harness.running.services

    async def unreachable() -> bool:
        async with services.db.transaction() as session:
            return (await session.get(User, payer.id)).unreachable

    await client.set_blocked(payer.id, True)
    await wait_until(unreachable)
    async with services.db.transaction() as session:
        [ticket] = await all_tickets(session)
    await approve_and_send(services.db, services.refund_policy(), lambda: NOW, reference=ticket.reference,
                           actor="agent:1")
    async with services.db.transaction() as session:
        [started] = await messages_to(session, chat_id=payer.id)
    assert (started.status, started.last_error) == ("dropped", "the user blocked the bot")

    await client.set_blocked(payer.id, False)

    async def reachable() -> bool:
        return not await unreachable()

    await wait_until(reachable)
    before = await payer.last_message_id()
    async with services.db.transaction() as session:
        ticket = await ticket_by_reference(session, reference=ticket.reference, lock=True)
        refund = await refund_of_ticket(session, ticket_id=ticket.id)
        await land_refund(session, services.refund_policy(), ticket, refund, actor="operator:cli", now=NOW,
                          bank_reference="ARN 7731")
    [landed] = await client.wait_for_bot_messages(payer.id, after_message_id=before, count=1, timeout=15)
    assert "has landed" in landed["text"] and "Bank reference: ARN 7731." in landed["text"]
    async with services.db.transaction() as session:
        rows = (await session.exec(OutboxMessage.__table__.select())).all()
    assert sorted(r.status for r in rows) == ["dropped", "sent"]
