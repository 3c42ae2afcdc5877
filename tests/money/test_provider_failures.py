"""The provider is called outside any transaction, with a key fixed beforehand; unknown stays unknown."""

from datetime import timedelta

from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.refunding import TELL_SUPPORT_AFTER
from storage.models import SupportCard
from tests.money.conftest import NOW, PAID_TWICE, SUPPORT_CHAT, World, outputs_text

ANN = 7


def sweep(world: World) -> FollowUps:
    return FollowUps(world.db, world.payers.policy, world.clock)


async def test_a_timeout_during_auto_approval_keeps_the_request_and_a_second_tap_does_nothing(world: World):
    await world.records(*PAID_TWICE)
    world.merchant.script.extend(["lost"])  # the merchant refunds, but its answer never reaches us
    submit = await world.fill_report(ANN)

    first = outputs_text(await world.press(ANN, submit))
    again = outputs_text(await world.press(ANN, submit))

    [ticket] = await world.tickets()
    [refund] = await world.refunds()
    assert ticket.reference in first and "already submitted" in again
    assert (ticket.status, refund.status, refund.requests_sent) == ("approved", "requested", 1)
    world.clock.now = NOW + timedelta(minutes=1)
    await sweep(world).sweep()
    [refund] = await world.refunds()
    assert refund.status == "pending" and (await world.tickets())[0].status == "refund_pending"
    assert world.merchant.keys == [ticket.reference, ticket.reference]
    assert world.merchant.refunded == {"tx2": 1}


async def test_a_crash_between_recording_and_calling_is_healed_by_the_sweep(manual_world: World):
    """The request was committed, then the process died before calling: the sweep calls, once."""
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    await world.record_request_unsent(ticket)
    # … and here the process died, before the call.

    world.clock.now = NOW + timedelta(minutes=1)
    assert await sweep(world).sweep() == 0  # not yet: the sender may still be calling
    world.clock.now = NOW + timedelta(minutes=2)
    await sweep(world).sweep()
    await sweep(world).sweep()

    assert world.merchant.keys == [ticket.reference]
    assert (await world.refunds())[0].status == "pending"


async def test_the_agent_is_told_the_outcome_is_unknown_never_that_nothing_changed(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["timeout"])

    answer = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:approve"))

    assert "outcome is unknown" in answer and "Nothing changed" not in answer
    [refund] = await world.refunds()
    assert refund.status == "requested" and refund.idempotency_key == ticket.reference
    again = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:approve"))
    assert "Already" in again or "already" in again
    assert world.merchant.keys == [ticket.reference]


async def test_support_hears_once_when_the_provider_stays_silent(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["timeout"] * 10)
    await world.agent_presses(f"sd:{ticket.reference}:approve")

    for minutes in (1, 6, 16, 36, 66, 96):
        world.clock.now = NOW + timedelta(minutes=minutes)
        await sweep(world).sweep()

    [refund] = await world.refunds()
    assert refund.status == "requested" and refund.requests_sent > TELL_SUPPORT_AFTER
    silent = [m for m in await world.outbox(SUPPORT_CHAT)
              if "provider_silent" in m.dedupe_key and m.action == "send"]
    assert len(silent) == 1 and "outcome is unknown" in silent[0].text
    assert set(world.merchant.keys) == {ticket.reference}
    assert world.merchant.refunded == {}


async def test_a_refused_refund_offers_retry_and_reject_and_retry_is_a_new_attempt(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["failed"])

    answer = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:approve"))
    assert "refused the refund (card closed)" in answer
    [ticket] = await world.tickets()
    assert ticket.status == "refund_failed"
    buttons = [b.data for row in world.support.renderer.buttons(ticket) for b in row]
    assert buttons == [f"sd:{ticket.reference}:{action}" for action in ("retry", "reject", "outside")]

    await world.agent_presses(f"sd:{ticket.reference}:retry")

    first, second = await world.refunds()
    assert (first.status, first.attempt) == ("failed", 1)
    assert (second.status, second.attempt, second.idempotency_key) == ("pending", 2, f"{ticket.reference}-2")
    assert first.transaction_id == second.transaction_id == "tx2"
    assert world.merchant.keys == [ticket.reference, f"{ticket.reference}-2"]
    assert (await world.tickets())[0].status == "refund_pending"


async def test_acting_on_a_failed_refund_stops_the_sla_pings(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["failed"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    async with world.db.transaction() as session:
        session.add(SupportCard(ticket_id=ticket.id, chat_id=SUPPORT_CHAT, touched_at=NOW, created_at=NOW))
    world.clock.now = NOW + timedelta(hours=5)
    assert await world.support.sweep_sla() == 1  # the failed refund waits for a person

    await world.agent_presses(f"sd:{ticket.reference}:retry")
    world.clock.now = NOW + timedelta(hours=20)

    assert await world.support.sweep_sla() == 0


async def test_approve_after_not_yet_says_what_exists_and_creates_nothing(world: World):
    ticket = await world.reported_duplicate(ANN)
    from tests.money.test_one_refund_per_charge import land_everything

    await land_everything(world)
    await world.press(ANN, f"tk:{ticket.reference}:notyet")
    assert (await world.tickets())[0].status == "needs_review"

    answer = await world.agent_presses(f"sd:{ticket.reference}:approve")

    text = outputs_text(answer)
    assert "was completed on" in text and "BR-1" in text and "not possible" in text
    assert "accepted the refund" not in text
    assert len(await world.refunds()) == 1 and world.merchant.refunded == {"tx2": 1}
    details = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:details"))
    assert "sent the payer" in details
    assert (await world.tickets())[0].status == "refunded"
    notice = [m for m in await world.outbox(ANN) if m.dedupe_key.startswith(f"ticket:{ticket.id}:details")]
    assert len(notice) == 1 and "BR-1" in notice[0].text


async def test_a_refused_refund_paid_by_bank_transfer_is_closed_as_refunded_outside(manual_world: World):
    from handlers.events import Reply
    from tests.desks.test_resolving_tickets import agent_writes, post_card, send_button

    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["failed"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    await post_card(world, ticket)
    await world.agent_presses(f"sd:{ticket.reference}:outside")
    [preview] = [o for o in await agent_writes(world, "99.00 bank transfer BT-9") if isinstance(o, Reply)]
    await world.agent_presses(send_button(preview))

    [ticket] = await world.tickets()
    failed, outside = await world.refunds()
    assert ticket.status == "refunded" and (failed.status, outside.status) == ("failed", "succeeded")
    assert (outside.provider, outside.transaction_id, outside.attempt) == ("outside", "tx2", 2)
    assert +world.merchant.refunded == {}  # the provider paid nothing (it refused); the transfer did
