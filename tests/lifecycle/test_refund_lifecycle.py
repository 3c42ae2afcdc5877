"""From approval to landing on both databases: audit trail, schedule, escalation, outbox rows."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.providers.ledger import LedgerProvider
from handlers.durations import Eta
from handlers.money import Money
from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.lifecycle import IllegalTransition, move_ticket
from handlers.refunds.refunding import (
    NoDuplicateCharge,
    RefundExists,
    land_refund,
    may_auto_approve,
    request_refund,
)
from handlers.refunds.requests import RefundRequester
from storage.models import OutboxMessage, Refund, Ticket, TicketStatus, TicketTransaction, Transaction
from storage.outbox import messages_to
from storage.refunds import refund_of_ticket
from storage.tickets import audit_of, ticket_by_id
from tests.doubles import Clock
from tests.lifecycle.conftest import NOW, SHANGHAI, SUPPORT_CHAT, file_ticket, make_policy


async def approve(db, policy, ticket_id, now=NOW):
    """The three steps: record the request, call the provider outside any transaction, record the answer."""
    async with db.transaction() as session:
        ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
        call = await request_refund(session, policy, ticket, actor="agent:1", now=now)
    return (await RefundRequester(db, policy, Clock(now)).send(call)).refund


async def state(db, ticket_id):
    async with db.transaction() as session:
        ticket = await ticket_by_id(session, ticket_id=ticket_id)
        refund = await refund_of_ticket(session, ticket_id=ticket_id)
        audit = [(a.from_status, a.to_status, a.actor) for a in await audit_of(session, ticket_id=ticket_id)]
        payer = [m.dedupe_key.split(":", 2)[2] for m in await messages_to(session, chat_id=ticket.user_id)]
        support = [
            m.dedupe_key.split(":", 2)[2]
            for m in await messages_to(session, chat_id=SUPPORT_CHAT)
            if m.action == "send"
        ]
        return ticket, refund, audit, payer, support


async def test_approval_refunds_the_duplicate_once_with_an_audit_trail(db, policy):
    ticket_id = await file_ticket(db)
    first = await approve(db, policy, ticket_id)
    with pytest.raises(RefundExists):
        await approve(db, policy, ticket_id)
    ticket, refund, audit, payer, _ = await state(db, ticket_id)
    assert first.id == refund.id
    assert (refund.transaction_id, refund.idempotency_key, refund.status) == ("tx2", "RF-TEST2345", "pending")
    assert ticket.status == "refund_pending"
    assert audit == [
        (None, "verified", "payer:7"),
        ("verified", "approved", "agent:1"),
        ("approved", "refund_pending", "provider:ledger"),
    ]
    assert payer == ["refund_started"]
    # three business days after Thursday 26 Nov
    assert ticket.expected_landing_at.astimezone(SHANGHAI).date().isoformat() == "2026-12-01"
    assert ticket.next_update_at == (NOW + timedelta(days=1))
    async with db.transaction() as session:
        assert len((await session.exec(select(Refund))).all()) == 1


async def test_illegal_moves_are_refused_and_change_nothing(db, policy):
    ticket_id = await file_ticket(db)
    with pytest.raises(IllegalTransition, match="cannot go from verified to refund_pending"):
        async with db.transaction() as session:
            ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
            await move_ticket(session, ticket, TicketStatus.REFUND_PENDING, actor="x", note="", now=NOW)
    ticket, _, audit, _, _ = await state(db, ticket_id)
    assert ticket.status == "verified" and len(audit) == 1


async def test_a_ticket_without_a_duplicate_charge_cannot_be_refunded(db, policy):
    ticket_id = await file_ticket(db)
    async with db.transaction() as session:
        ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
        for match in (await session.exec(select(TicketTransaction))).all():
            match.role = "candidate"
            session.add(match)
    with pytest.raises(NoDuplicateCharge):
        await approve(db, policy, ticket_id)
    ticket, refund, _, _, _ = await state(db, ticket_id)
    assert ticket.status == "verified" and refund is None


async def test_updates_follow_the_schedule_escalate_when_overdue_and_stop_after_landing(db, policy):
    ticket_id = await file_ticket(db)
    await approve(db, policy, ticket_id)
    clock = Clock(NOW + timedelta(hours=23))
    sweep = FollowUps(db, policy, clock)
    assert await sweep.sweep() == 0
    clock.now = NOW + timedelta(days=1)
    assert await sweep.sweep() == 1
    ticket, _, _, payer, _ = await state(db, ticket_id)
    assert payer == ["refund_started", "update:1"]
    # 10:00 + 2 days is not quiet; the second update is due two days later
    assert ticket.next_update_at == NOW + timedelta(days=3)
    clock.now = NOW + timedelta(days=3)
    await sweep.sweep()
    ticket, _, _, payer, support = await state(db, ticket_id)
    assert payer == ["refund_started", "update:1", "update:2"] and support == []
    clock.now = NOW + timedelta(days=8)  # expected 1 Dec + 2 days grace has passed
    await sweep.sweep()
    ticket, _, _, payer, support = await state(db, ticket_id)
    assert payer[-1] == "overdue" and support == ["overdue"] and ticket.escalated_at == clock.now
    clock.now = NOW + timedelta(days=10)
    await sweep.sweep()
    _, _, _, payer, support = await state(db, ticket_id)
    assert payer.count("overdue") == 1 and support == ["overdue"] and payer[-1] == "update:4"
    async with db.transaction() as session:
        ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
        refund = await refund_of_ticket(session, ticket_id=ticket_id)
        assert await land_refund(
            session, policy, ticket, refund, actor="operator:cli", now=clock.now, bank_reference="ARN-123"
        )
    ticket, refund, _, payer, _ = await state(db, ticket_id)
    assert (ticket.status, ticket.next_update_at, refund.bank_reference) == ("refunded", None, "ARN-123")
    clock.now = NOW + timedelta(days=40)
    assert await sweep.sweep() == 0
    _, _, _, after, _ = await state(db, ticket_id)
    assert after == payer and after[-1] == "landed"


async def test_quiet_hours_move_an_update_to_the_morning(db, policy):
    ticket_id = await file_ticket(db)
    late = NOW + timedelta(hours=13)  # 23:00 in Shanghai
    await approve(db, policy, ticket_id, now=late)
    ticket, *_ = await state(db, ticket_id)
    assert ticket.next_update_at.astimezone(SHANGHAI).hour == 8


async def test_the_ledger_settles_by_itself_after_the_delay(db):
    policy = make_policy(LedgerProvider(timedelta(seconds=10)))
    ticket_id = await file_ticket(db)
    await approve(db, policy, ticket_id)
    sweep = FollowUps(db, policy, Clock(NOW + timedelta(seconds=9)))
    await sweep.sweep()
    assert (await state(db, ticket_id))[0].status == "refund_pending"
    sweep.clock = Clock(NOW + timedelta(seconds=10))
    await sweep.sweep()
    ticket, refund, audit, payer, _ = await state(db, ticket_id)
    assert (ticket.status, refund.status) == ("refunded", "succeeded")
    assert audit[-1] == ("refund_pending", "refunded", "ledger:settlement")
    assert payer == ["refund_started", "landed"]


async def test_landed_message_carries_received_not_yet_and_rating_buttons(db, policy):
    ticket_id = await file_ticket(db, locale="zh")
    await approve(db, policy, ticket_id)
    async with db.transaction() as session:
        ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
        refund = await refund_of_ticket(session, ticket_id=ticket_id)
        await land_refund(session, policy, ticket, refund, actor="x", now=NOW)
        landed = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.dedupe_key == f"ticket:{ticket_id}:landed")
            )
        ).one()
    assert "退款已到账" in landed.text and "¥99.00" in landed.text
    assert "tk:RF-TEST2345:received" in landed.buttons and "tk:RF-TEST2345:rate:5" in landed.buttons


def test_auto_approval_limit():
    policy = make_policy()

    ticket = Ticket(
        reference="RF-X",
        user_id=1,
        chat_id=1,
        locale="en",
        amount_minor=4999,
        currency="CNY",
        status="verified",
        paid_at=NOW,
        report_key="k",
        created_at=NOW,
        updated_at=NOW,
    )
    assert not may_auto_approve(policy, ticket)
    limited = replace(policy, auto_refund_limit=Money(Decimal("50.00"), "CNY"))
    assert may_auto_approve(limited, ticket)
    assert not may_auto_approve(limited, ticket.model_copy(update={"amount_minor": 5001}))
    assert not may_auto_approve(limited, ticket.model_copy(update={"currency": "USD"}))
    assert not may_auto_approve(limited, ticket.model_copy(update={"status": "needs_review"}))


async def test_the_expected_date_follows_the_payment_method_of_the_duplicate(db):
    policy = replace(make_policy(), eta_by_method={"wallet": Eta.parse("5m")})
    ticket_id = await file_ticket(db)
    async with db.transaction() as session:
        for transaction_id in ("tx1", "tx2"):
            session.add(
                Transaction(
                    transaction_id=transaction_id,
                    order_id="A1",
                    payer_id="p",
                    amount_minor=9900,
                    currency="CNY",
                    status="succeeded",
                    created_at=NOW,
                    method="wallet",
                )
            )
    await approve(db, policy, ticket_id)
    ticket, *_ = await state(db, ticket_id)
    assert ticket.expected_landing_at == NOW + timedelta(minutes=5)
    assert policy.eta_for("card") == policy.eta and policy.eta_for(None) == policy.eta
