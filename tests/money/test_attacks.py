"""Money safety tried as an attacker and as a flaky network would: every path that could pay twice."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from bot.providers.ledger import LedgerProvider
from handlers.ports import RefundState
from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.lifecycle import move_ticket
from handlers.refunds.refunding import Applied, lock_ticket_and_refund, record_provider_state
from handlers.refunds.requests import RefundRequester
from storage.models import RefundStatus, TicketStatus
from storage.tickets import ticket_by_id
from storage.transactions import save_transactions
from tests.conftest import make_sqlite
from tests.money.conftest import NOW, PAID_TWICE, SUPPORT_CHAT, World, outputs_text

ANN, BOB = 7, 8
SUCCEEDED = RefundState(RefundStatus.SUCCEEDED, bank_reference="BR-LATE")


async def push(world: World, key: str, state: RefundState) -> Applied:
    """The merchant's signed status push for one refund key, as the HTTP endpoint applies it."""
    async with world.db.transaction() as session:
        ticket, refund = await lock_ticket_and_refund(session, reference=key)
        return await record_provider_state(session, world.payers.policy, ticket, refund, state,
                                           actor="merchant:webhook", now=world.clock())


def sweep(world: World) -> FollowUps:
    return FollowUps(world.db, world.payers.policy, world.clock)


async def failed_then_retried(world: World, retry_answer: str) -> str:
    """Ann's refund is refused, the agent presses Retry and the merchant answers `retry_answer`."""
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["failed", retry_answer])
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    await world.agent_presses(f"sd:{ticket.reference}:retry")
    return ticket.reference


def support_texts(messages, event: str) -> list[str]:
    return [m.text for m in messages if f":{event}" in m.dedupe_key and m.action == "send"]


# --- a late success of a failed attempt --------------------------------------------------------


async def test_a_late_success_withdraws_an_unanswered_retry_so_it_is_never_sent(manual_world: World):
    """Attempt 1 failed, the retry got no answer, then attempt 1 is reported refunded after all."""
    world = manual_world
    reference = await failed_then_retried(world, "timeout")
    world.merchant.refunded["tx2"] += 1  # the merchant did refund attempt 1 after all

    applied = await push(world, reference, SUCCEEDED)

    first, second = await world.refunds()
    assert applied is Applied.CHANGED
    assert (first.status, first.bank_reference) == ("succeeded", "BR-LATE")
    assert (second.status, second.next_attempt_at) == ("failed", None)
    assert (await world.tickets())[0].status == "refunded"
    for minutes in (1, 10, 60):
        world.clock.now = NOW + timedelta(minutes=minutes)
        await sweep(world).sweep()
    assert world.merchant.keys == [reference, f"{reference}-2"]  # the retry was never asked again
    assert world.merchant.refunded == {"tx2": 1}
    [told] = support_texts(await world.outbox(SUPPORT_CHAT), "late_success")
    assert reference in told and "only once" in told
    assert any("landed" in m.dedupe_key for m in await world.outbox(ANN))


async def test_a_withdrawn_retry_accepted_after_all_warns_of_a_double_refund(manual_world: World):
    """The retry was withdrawn when attempt 1 succeeded late, but the provider then accepts it too."""
    world = manual_world
    reference = await failed_then_retried(world, "timeout")
    await push(world, reference, SUCCEEDED)

    applied = await push(world, f"{reference}-2", RefundState(RefundStatus.PENDING))

    assert applied is Applied.CONFLICT  # the merchant hears 409
    [told] = support_texts(await world.outbox(SUPPORT_CHAT), "double_refund")
    assert f"{reference}-2" in told and reference in told and "twice" in told
    assert [r.status for r in await world.refunds()] == ["succeeded", "failed"]


async def test_a_late_success_while_the_retry_is_accepted_warns_of_a_double_refund(manual_world: World):
    world = manual_world
    reference = await failed_then_retried(world, "pending")

    applied = await push(world, reference, SUCCEEDED)

    first, second = await world.refunds()
    assert applied is Applied.CONFLICT  # the merchant hears 409
    assert (first.status, second.status) == ("failed", "pending")
    [told] = support_texts(await world.outbox(SUPPORT_CHAT), "double_refund")
    assert reference in told and f"{reference}-2" in told and "twice" in told
    # The ticket reference names the first attempt only; the retry lands under its own key.
    assert await push(world, f"{reference}-2", SUCCEEDED) is Applied.CHANGED
    assert (await world.tickets())[0].status == "refunded"
    assert [r.status for r in await world.refunds()] == ["failed", "succeeded"]


async def test_a_late_success_after_the_ticket_was_rejected_still_counts_the_charge_refunded(world: World):
    """Refused, rejected by an agent, then refunded after all: a new report must not refund it again."""
    await world.records(*PAID_TWICE)
    world.merchant.script.extend(["failed"])
    await world.report(ANN)  # auto-approved, refused by the merchant
    [ticket] = await world.tickets()
    async with world.db.transaction() as session:
        locked = await ticket_by_id(session, ticket_id=ticket.id, lock=True)
        await move_ticket(session, locked, TicketStatus.REJECTED, actor="agent:501", note="no", now=NOW)
    world.merchant.refunded["tx2"] += 1

    applied = await push(world, ticket.reference, SUCCEEDED)
    again = outputs_text(await world.report(ANN))

    assert applied is Applied.CHANGED
    [refund] = await world.refunds()
    assert refund.status == "succeeded" and refund.landed_at is not None
    assert "already refunded on" in again and len(await world.tickets()) == 1
    assert world.merchant.refunded == {"tx2": 1}
    assert support_texts(await world.outbox(SUPPORT_CHAT), "late_success")


# --- the merchant's records changed after the report -------------------------------------------


@pytest.mark.parametrize("change", [{"status": "refunded"}, {"amount_minor": 990}, {"currency": "USD"}])
async def test_a_charge_changed_in_the_records_since_the_report_is_not_refunded(manual_world: World, change):
    """E.g. the merchant refunded the duplicate by hand, then re-imported its records."""
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    row = {"transaction_id": "tx2", "order_id": "A1", "payer_id": "", "amount_minor": 9900, "currency": "CNY",
           "status": "succeeded", "created_at": NOW - timedelta(minutes=59), "method": None}
    async with world.db.transaction() as session:
        await save_transactions(session, rows=[{**row, **change}])

    answer = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:approve"))

    assert await world.refunds() == [] and world.merchant.keys == []
    assert "no longer" in answer and (await world.tickets())[0].status == "verified"


# --- operators and payers claiming a landing ---------------------------------------------------


async def test_an_operator_landing_by_ticket_reference_after_a_retry_lands_the_live_attempt(
    manual_world: World,
):
    from handlers.refunds.refunding import land_by_reference

    world = manual_world
    reference = await failed_then_retried(world, "pending")

    async with world.db.transaction() as session:
        landed = await land_by_reference(session, world.payers.policy, reference=reference,
                                         bank_reference="BR-OP", now=NOW)

    first, second = await world.refunds()
    assert landed is not None and (first.status, second.status) == ("failed", "succeeded")
    assert second.bank_reference == "BR-OP" and (await world.tickets())[0].status == "refunded"


async def test_an_operator_cannot_land_a_refund_that_is_still_requested(manual_world: World):
    from handlers.refunds.refunding import land_by_reference

    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["timeout"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")

    async with world.db.transaction() as session:
        landed = await land_by_reference(session, world.payers.policy, reference=ticket.reference,
                                         bank_reference=None, now=NOW)

    assert landed is None
    assert [r.status for r in await world.refunds()] == ["requested"]


async def test_received_on_a_ledger_refund_that_is_still_requested_lands_nothing(manual_world: World):
    world = manual_world
    world.merchant.name = "ledger"
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["timeout"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")

    answer = outputs_text(await world.press(ANN, f"tk:{ticket.reference}:received"))

    assert "no longer does anything" in answer
    [refund] = await world.refunds()
    assert (refund.status, refund.landed_at) == ("requested", None)
    assert (await world.tickets())[0].status == "approved"


async def test_the_ledger_settles_only_after_it_accepted_a_request_that_was_late(manual_world: World):
    """A request recorded but not sent (a crash): settlement counts from acceptance, never from recording."""
    world = manual_world
    world.payers.policy = replace(world.payers.policy, provider=LedgerProvider(timedelta(hours=1)))
    world.support.policy = world.payers.policy
    ticket = await world.reported_duplicate(ANN)
    await world.record_request_unsent(ticket)

    world.clock.now = NOW + timedelta(hours=3)
    await sweep(world).sweep()
    [refund] = await world.refunds()
    assert (refund.status, refund.settle_at) == ("pending", NOW + timedelta(hours=4))
    world.clock.now = NOW + timedelta(hours=4)
    await sweep(world).sweep()
    assert [r.status for r in await world.refunds()] == ["succeeded"]


# --- forged and replayed buttons ---------------------------------------------------------------


async def test_forged_card_buttons_create_nothing(world: World):
    await world.records(*PAID_TWICE)
    await world.report(ANN)  # auto-approved: refund pending
    [ticket] = await world.tickets()

    for action in ("retry", "approve", "details", "reject", "ask", "send:0123456789ab"):
        await world.agent_presses(f"sd:{ticket.reference}:{action}")
    outsider = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:retry", agent=ANN))

    assert "may not act" in outsider
    payer = outputs_text(await world.press(ANN, f"tk:{ticket.reference}:received"))  # a webhook refund
    assert ticket.reference in payer
    assert [r.status for r in await world.refunds()] == ["pending"]
    assert world.merchant.keys == [ticket.reference]
    assert (await world.tickets())[0].status == "refund_pending"


async def test_a_payer_cannot_cancel_while_a_refund_is_requested_or_press_someone_elses_ticket(
    manual_world: World,
):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["timeout"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")

    own = outputs_text(await world.press(ANN, f"tk:{ticket.reference}:cancel"))
    other = [outputs_text(await world.press(BOB, f"tk:{ticket.reference}:{a}"))
             for a in ("cancel", "received", "notyet")]

    assert ticket.reference in own
    assert all(ticket.reference not in text for text in other)
    assert (await world.tickets())[0].status == "approved"
    assert [r.status for r in await world.refunds()] == ["requested"]


async def test_cancel_racing_approve_ends_either_cancelled_or_refunded_never_both(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)

    await asyncio.gather(world.press(ANN, f"tk:{ticket.reference}:cancel"),
                         world.agent_presses(f"sd:{ticket.reference}:approve"))

    [ticket] = await world.tickets()
    refunds = await world.refunds()
    assert (ticket.status, len(refunds)) in {("cancelled", 0), ("refund_pending", 1)}
    assert world.merchant.keys == [r.idempotency_key for r in refunds]


# --- "Not yet", twice ----------------------------------------------------------------------


async def test_a_second_not_yet_reaches_support_again(world: World):
    from tests.money.test_one_refund_per_charge import land_everything

    ticket = await world.reported_duplicate(ANN)
    await land_everything(world)
    await world.press(ANN, f"tk:{ticket.reference}:notyet")
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    await world.agent_presses(f"sd:{ticket.reference}:details")

    await world.press(ANN, f"tk:{ticket.reference}:notyet")

    assert (await world.tickets())[0].status == "needs_review"
    reopened = [m for m in await world.outbox(SUPPORT_CHAT)
                if m.action == "send" and "has not arrived" in m.text]
    assert len(reopened) == 2
    assert len(await world.refunds()) == 1 and world.merchant.refunded == {"tx2": 1}


# --- instances, restarts, odd providers --------------------------------------------------------


async def test_two_instances_sweeping_at_once_send_a_requested_refund_once(manual_world: World):
    """A request recorded, its sender died; two instances' sweeps then run at the same moment."""
    world = manual_world
    ticket = await world.reported_duplicate(ANN)
    await world.record_request_unsent(ticket)
    world.clock.now = NOW + timedelta(minutes=2)
    world.merchant.gate = asyncio.Event()

    requesters = [RefundRequester(world.db, world.payers.policy, world.clock) for _ in range(2)]
    instances = {asyncio.create_task(requester.retry_batch()) for requester in requesters}
    # One instance claims the request and hangs in the call; the other must find nothing to send.
    done, hanging = await asyncio.wait(instances, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    world.merchant.gate.set()
    await asyncio.gather(*hanging)

    assert [task.result() for task in done] == [0] and [task.result() for task in hanging] == [1]
    assert world.merchant.keys == [ticket.reference]
    assert [r.status for r in await world.refunds()] == ["pending"]


async def test_a_provider_raising_an_unexpected_error_leaves_the_outcome_unknown(manual_world: World):
    world = manual_world
    ticket = await world.reported_duplicate(ANN)

    async def broken(request, *, now):
        world.merchant.keys.append(request.reference)
        raise KeyError("surprise")

    world.merchant.create_refund = broken
    answer = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:approve"))

    [refund] = await world.refunds()
    assert "outcome is unknown" in answer and "surprise" not in answer
    assert (refund.status, refund.requests_sent, refund.idempotency_key) == ("requested", 1, ticket.reference)
    assert (await world.tickets())[0].status == "approved"


async def test_the_refund_carries_the_charges_amount_and_currency(world: World):
    await world.records(*PAID_TWICE)
    await world.report(ANN, amount="¥99")

    [ticket] = await world.tickets()
    [refund] = await world.refunds()
    assert (refund.amount_minor, refund.currency) == (9900, "CNY") == (ticket.amount_minor, ticket.currency)


async def test_a_not_linked_reporter_approved_by_an_agent_is_refunded_to_the_charge_only(world: World):
    await world.records(("tx1", "A1", "payer-ann", "succeeded"), ("tx2", "A1", "payer-ann", "succeeded"),
                        telegram={"payer-ann": ANN})
    await world.report(BOB)  # not the payer: waits for a person
    await world.report(ANN)  # the payer: auto-approved

    [bob, ann] = await world.tickets()
    answer = outputs_text(await world.agent_presses(f"sd:{bob.reference}:approve"))

    assert ann.reference in answer
    [refund] = await world.refunds()
    assert refund.ticket_id == ann.id and world.merchant.refunded == {"tx2": 1}


# --- the partial unique indexes survive a later batch migration on SQLite ------------------------


async def test_a_later_batch_migration_keeps_the_partial_unique_indexes(tmp_path):
    database = await make_sqlite(tmp_path)

    def indexes(connection) -> dict[str, str]:
        rows = connection.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'refunds'"
            " AND name LIKE 'uq_refunds_live_%'"
        ))
        return dict(rows.all())

    def recreate_refunds(connection) -> None:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("refunds", recreate="always") as batch:
            batch.add_column(sa.Column("scratch", sa.String(8), nullable=True))

    try:
        async with database.engine.begin() as connection:
            before = await connection.run_sync(indexes)
            await connection.run_sync(recreate_refunds)
            after = await connection.run_sync(indexes)
            table_sql = (await connection.execute(sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'refunds'"))).scalar_one()
    finally:
        await database.dispose()

    assert "scratch" in table_sql  # the table really was re-created
    assert set(after) == {"uq_refunds_live_charge", "uq_refunds_live_ticket"}
    for name, sql in after.items():
        assert "UNIQUE" in sql and "WHERE status <> 'failed'" in sql, sql
        assert sql == before[name]

