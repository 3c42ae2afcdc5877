"""An order's charges with their live refunds and the reporter's links: one query, as the three before."""

from datetime import UTC, datetime, timedelta

from storage.models import Refund, Ticket
from storage.order_charges import order_charges_for
from storage.payer_links import link_payers, payer_ids_linked_to
from storage.refunds import live_refunds_of_charges
from storage.tickets import add_ticket
from storage.transactions import charges_of_order, save_transactions

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
REPORTER = 501


def charge(transaction_id: str, payer_id: str, minutes: int, order_id: str = "A1") -> dict:
    return {"transaction_id": transaction_id, "order_id": order_id, "payer_id": payer_id,
            "amount_minor": 9900, "currency": "CNY", "status": "succeeded",
            "created_at": NOW + timedelta(minutes=minutes), "method": None}


async def test_one_query_agrees_with_the_three_it_replaces(db):
    async with db.transaction() as session:
        rows = [charge("t3", "p2", 3), charge("t1", "p1", 1), charge("t2", "", 2),  # t2 names no payer
                charge("t9", "p1", 0, order_id="B2")]
        await save_transactions(session, rows=rows)
        await link_payers(session, links=[("p1", REPORTER), ("p2", 999)], source="records", now=NOW)
        ticket = Ticket(reference="RF-AAAAAAAA", user_id=REPORTER, chat_id=REPORTER, locale="en",
                        amount_minor=9900, currency="CNY", paid_at=NOW, status="refund_pending",
                        report_key="k1", created_at=NOW, updated_at=NOW)
        await add_ticket(session, ticket=ticket, matches=[], actor="test", now=NOW)
        for number, (transaction_id, status) in enumerate([("t1", "failed"), ("t1", "succeeded"),
                                                            ("t3", "failed")]):
            session.add(Refund(ticket_id=ticket.id, reference=f"RX{number}", attempt=number + 1,
                               transaction_id=transaction_id, amount_minor=9900, currency="CNY",
                               provider="ledger", status=status, created_at=NOW, updated_at=NOW))
    async with db.transaction() as session:
        found = await order_charges_for(session, order_id="A1", telegram_user_id=REPORTER)
        charges = await charges_of_order(session, order_id="A1")
        refunds = await live_refunds_of_charges(session, transaction_ids=[c.transaction_id for c in charges])
        linked = await payer_ids_linked_to(session, telegram_user_id=REPORTER, payer_ids={"p1", "p2"})
        nothing = await order_charges_for(session, order_id="ZZ", telegram_user_id=REPORTER)
    assert [c.transaction_id for c in found.charges] == ["t1", "t2", "t3"]
    assert [c.model_dump() for c in found.charges] == [c.model_dump() for c in charges]
    assert {key: refund.reference for key, refund in found.refunds.items()} == {"t1": "RX1"}
    assert found.refunds.keys() == refunds.keys()
    assert found.linked_payer_ids == linked == {"p1"}
    assert (nothing.charges, nothing.refunds, nothing.linked_payer_ids) == ([], {}, set())
