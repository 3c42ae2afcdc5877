"""Submit looks again for an open ticket on the report's order: one filed meanwhile is pointed out."""

from datetime import timedelta

from storage.models import Ticket
from storage.tickets import add_ticket, open_order_key
from tests.desks.test_payer_limits import NOW, PAYER, TEXTS, Payer, filed_tickets, make_desk
from tests.doubles import Clock


async def open_ticket_meanwhile(db, *, order_id: str, reference: str) -> None:
    """A ticket for the order filed while the payer's report waits at the review (another instance)."""
    async with db.transaction() as session:
        ticket = Ticket(reference=reference, user_id=PAYER.id, chat_id=PAYER.id, locale="en",
                        order_id=order_id, amount_minor=9900, currency="CNY", paid_at=NOW,
                        status="needs_review", report_key=f"k-{reference}",
                        open_order_key=open_order_key(user_id=PAYER.id, order_id=order_id),
                        created_at=NOW - timedelta(days=3), updated_at=NOW)
        await add_ticket(session, ticket=ticket, matches=[], actor="test", now=NOW)


async def fill_in_with_order(payer: Payer, order_id: str) -> None:
    await payer.command("report")
    await payer.text(order_id)
    await payer.text("99")
    await payer.press("day")
    await payer.photo("7")


async def test_a_ticket_opened_for_the_order_meanwhile_is_pointed_out_at_submit(db, tmp_path):
    payer = Payer(make_desk(db, tmp_path, Clock(NOW)))
    await fill_in_with_order(payer, "A1")
    await open_ticket_meanwhile(db, order_id="A1", reference="RF-MEANWHILE")
    [answer] = await payer.press("submit")
    status = TEXTS.get("en", "status.needs_review")
    assert answer.text == TEXTS.get("en", "filed.already_open", reference="RF-MEANWHILE", status=status)
    assert [t.reference for t in await filed_tickets(db)] == ["RF-MEANWHILE"]


async def test_an_open_ticket_for_another_order_does_not_stop_filing(db, tmp_path):
    payer = Payer(make_desk(db, tmp_path, Clock(NOW)))
    await fill_in_with_order(payer, "A1")
    await open_ticket_meanwhile(db, order_id="B2", reference="RF-OTHER")
    [answer] = await payer.press("submit")
    assert "RF-OTHER" not in answer.text and "RF-" in answer.text
    assert sorted(t.order_id for t in await filed_tickets(db)) == ["A1", "B2"]
