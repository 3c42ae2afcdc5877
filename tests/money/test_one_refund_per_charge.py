"""One charge is refunded at most once, to the person who paid it, whoever tries and in whatever order."""

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.exc import IntegrityError

from storage.models import Refund, RefundStatus
from tests.money.conftest import NOW, PAID_TWICE, SUPPORT_CHAT, World, outputs_text

ANN, BOB = 7, 8


async def land_everything(world: World) -> None:
    """The merchant says every pending refund arrived."""
    from handlers.ports import RefundState
    from handlers.refunds.refunding import lock_ticket_and_refund, record_provider_state

    for refund in await world.refunds():
        async with world.db.transaction() as session:
            ticket, locked = await lock_ticket_and_refund(session, reference=refund.idempotency_key)
            await record_provider_state(session, world.payers.policy, ticket, locked,
                                        RefundState(RefundStatus.SUCCEEDED, bank_reference="BR-1"),
                                        actor="merchant:webhook", now=NOW)


async def test_the_same_payer_reporting_again_after_the_refund_landed_is_told_so(world: World):
    await world.records(*PAID_TWICE)
    await world.report(ANN)
    await land_everything(world)

    again = outputs_text(await world.report(ANN))

    assert "already refunded on" in again and (await world.tickets())[0].reference in again
    assert len(await world.tickets()) == 1
    assert [r.transaction_id for r in await world.refunds()] == ["tx2"]
    assert world.merchant.refunded == {"tx2": 1}


async def test_anyone_else_knowing_order_and_amount_gets_no_second_refund(world: World):
    await world.records(*PAID_TWICE)
    await world.report(ANN)

    bob = outputs_text(await world.report(BOB))

    assert "has already been refunded, or a refund of it is under way" in bob
    assert (await world.tickets())[0].reference not in bob  # nothing of Ann's refund is told to Bob
    assert "BR-" not in bob
    assert len(await world.refunds()) == 1 and world.merchant.refunded == {"tx2": 1}


async def test_a_third_charge_of_the_same_order_is_still_refundable(world: World):
    await world.records(*PAID_TWICE, ("tx3", "A1", "", "succeeded"))
    await world.report(ANN)
    await land_everything(world)

    await world.report(ANN)

    assert sorted(r.transaction_id for r in await world.refunds()) == ["tx2", "tx3"]


@pytest.mark.parametrize("status", ["requested", "pending", "succeeded"])
async def test_the_database_refuses_a_second_live_refund_of_a_charge(world: World, status):
    first, second = await bare_tickets(world)
    async with world.db.transaction() as session:
        session.add(_refund(first, "RF-A", status))
    with pytest.raises(IntegrityError):
        async with world.db.transaction() as session:
            session.add(_refund(second, "RF-B", "requested"))


async def test_a_failed_refund_does_not_block_a_new_attempt(world: World):
    first, _ = await bare_tickets(world)
    async with world.db.transaction() as session:
        session.add(_refund(first, "RF-A", "failed"))
        session.add(_refund(first, "RF-A-2", "requested", attempt=2))
    assert [r.status for r in await world.refunds()] == ["failed", "requested"]


async def bare_tickets(world: World) -> tuple[int, int]:
    """Two tickets filed by hand on the order, with no refund yet."""
    manual = replace(world.payers.policy, auto_refund_limit=None)
    world.payers.policy = manual
    await world.records(*PAID_TWICE)
    await world.report(ANN)
    await world.report(BOB)
    first, second = await world.tickets()
    return first.id, second.id


def _refund(ticket_id: int, key: str, status: str, attempt: int = 1) -> Refund:
    return Refund(ticket_id=ticket_id, reference=key[:11], attempt=attempt, idempotency_key=key,
                  transaction_id="tx2", amount_minor=9900, currency="CNY", provider="webhook", status=status,
                  created_at=NOW, updated_at=NOW)


async def test_twenty_reports_and_approvals_racing_for_one_charge_make_exactly_one_refund(world: World):
    await world.records(*PAID_TWICE)
    automatic = world.payers.policy
    world.payers.policy = replace(automatic, auto_refund_limit=None)
    for user in range(100, 110):  # ten tickets wait for a person
        await world.report(user)
    waiting = await world.tickets()
    world.payers.policy = automatic
    racing = range(110, 120)  # ten more will auto-approve, while the agent approves the first ten
    submits = [await world.fill_report(user) for user in racing]

    answers = await asyncio.gather(
        *(world.press(user, data) for user, data in zip(racing, submits, strict=True)),
        *(world.agent_presses(f"sd:{ticket.reference}:approve") for ticket in waiting),
    )

    live = [r for r in await world.refunds() if r.status != RefundStatus.FAILED]
    assert len(live) == 1 and live[0].transaction_id == "tx2"
    assert world.merchant.refunded == {"tx2": 1}
    assert world.merchant.keys == [live[0].idempotency_key]
    payer_answers = [outputs_text(a) for a in answers[:10]]
    told_under_way = sum("a refund of it is under way" in a for a in payer_answers)
    tickets = await world.tickets()
    assert len(tickets) + told_under_way == 20 and all(payer_answers)
    cards = {m.ticket_id for m in await world.outbox(SUPPORT_CHAT) if m.action == "card"}
    assert {t.id for t in tickets} - {live[0].ticket_id} <= cards  # every other ticket is with a person


async def test_an_agent_approving_a_charge_taken_by_another_ticket_is_told_which(manual_world: World):
    world = manual_world
    await world.records(*PAID_TWICE)
    await world.report(ANN)
    await world.report(BOB)
    first, second = await world.tickets()
    await world.agent_presses(f"sd:{first.reference}:approve")

    answer = outputs_text(await world.agent_presses(f"sd:{second.reference}:approve"))

    assert first.reference in answer and "already has a refund" in answer
    assert len(await world.refunds()) == 1


async def test_the_review_button_pressed_twice_files_and_refunds_once(world: World):
    await world.records(*PAID_TWICE)
    submit = await world.fill_report(ANN)

    await asyncio.gather(world.press(ANN, submit), world.press(ANN, submit))

    assert len(await world.tickets()) == 1 and world.merchant.refunded == {"tx2": 1}
