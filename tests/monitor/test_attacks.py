"""Attacks on the monitor's question, cross-order matching, the feed and the desk: money moves once."""

import asyncio
import contextlib
from datetime import datetime, timedelta

import pytest

import handlers.payment_feed as payment_feed
from handlers.buttons import CandidateButton, RepeatAnswer, RepeatButton
from handlers.events import Attachment, EventKind
from handlers.payment_events import EventsRefused, read_events
from handlers.payment_feed import receive_payment_events
from handlers.support.candidates import charge_tag
from storage.models import SuspicionStatus, TicketStatus
from tests.money.conftest import NOW, SHANGHAI, button, outputs_text
from tests.money.test_provider_failures import sweep
from tests.monitor.conftest import PAYER, USER, Feed, buttons_of, charge

YES, NO = "Yes, refund the extra one", "No, both were intended"


async def _asked(feed: Feed) -> str:
    """tx1 on O1, then tx2 on O2 two minutes later: the payer is asked; the Yes button's data."""
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [alert] = await feed.alerts(USER)
    return buttons_of(alert)[YES]


async def test_yes_after_the_first_charge_was_refunded_by_other_means_refunds_nothing(feed):
    yes = await _asked(feed)
    await feed.arrive(charge("tx1", "O1", status="refunded"))  # the merchant refunded it by hand
    answer = await feed.world.press(USER, yes)
    assert "already" in outputs_text(answer).lower()
    assert await feed.world.refunds() == [] and not feed.world.merchant.refunded
    [suspicion] = await feed.suspicions()
    assert suspicion.status != SuspicionStatus.ALERTED  # answered: a second press says so


async def test_yes_after_the_repeat_itself_was_refunded_by_other_means_refunds_nothing(feed):
    yes = await _asked(feed)
    await feed.arrive(charge("tx2", "O2", minutes=2, status="refunded"))
    answer = await feed.world.press(USER, yes)
    assert "already" in outputs_text(answer).lower()
    assert await feed.world.refunds() == [] and await feed.tickets() == []


async def test_a_stranger_or_forged_ids_cannot_answer_for_the_payer(feed):
    yes = await _asked(feed)
    [suspicion] = await feed.suspicions()
    for presser, data in [(77, yes), (USER, RepeatButton(suspicion.id + 1, RepeatAnswer.REFUND).pack()),
                          (USER, RepeatButton(-1, RepeatAnswer.REFUND).pack()),
                          (USER, yes.replace(str(suspicion.id), f"0{suspicion.id}"))]:
        await feed.world.press(presser, data)
    assert await feed.tickets() == [] and (await feed.suspicions())[0].status == SuspicionStatus.ALERTED


async def test_a_second_telegram_user_of_the_payer_cannot_answer_the_first_ones_question(feed):
    yes = await _asked(feed)
    await feed.link(user=43)  # a second account linked to the same payer
    answer = await feed.world.press(43, yes)
    assert "no longer" in outputs_text(answer).lower() or "expired" in outputs_text(answer).lower()
    assert await feed.tickets() == []


async def test_yes_racing_another_linked_account_reporting_the_repeat_makes_one_refund(feed):
    yes = await _asked(feed)
    await feed.link(user=43)
    submit = await feed.world.fill_report(43, order="O2", amount="99.00", paid_at="2026-11-26 09:02")
    await asyncio.gather(feed.world.press(USER, yes), feed.world.press(43, submit))
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}
    assert [r.transaction_id for r in await feed.world.refunds()] == ["tx2"]


async def test_yes_after_a_waiting_ticket_was_confirmed_by_the_same_arrival_files_nothing_more(manual_feed):
    feed = manual_feed
    await feed.link()
    await feed.arrive(charge("tx1", "O1"))
    await feed.world.report(USER, order="O1", amount="99.00", paid_at="2026-11-26 09:00")
    await feed.arrive(charge("tx2", "O2", minutes=2))  # confirms the waiting ticket, and is a repeat
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.VERIFIED
    for alert in await feed.alerts(USER):
        await feed.world.press(USER, buttons_of(alert)[YES])
    assert len(await feed.tickets()) == 1  # the payer is not made to file the same duplicate twice


async def test_a_crash_after_yes_filed_the_ticket_is_healed_by_the_sweep(feed, monkeypatch):
    import handlers.payer.desk as payer_desk

    yes = await _asked(feed)

    async def died(*args, **kwargs):
        return []  # the process died after the commit, before calling the provider

    monkeypatch.setattr(payer_desk, "send_refund_requests", died)
    await feed.world.press(USER, yes)
    [refund] = await feed.world.refunds()
    assert refund.status == "requested" and not feed.world.merchant.keys
    feed.world.clock.now = NOW + timedelta(minutes=2)
    await sweep(feed.world).sweep()
    await sweep(feed.world).sweep()
    assert feed.world.merchant.keys == [refund.idempotency_key]
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}


async def test_a_report_without_an_order_number_never_pairs_a_refunded_or_failed_charge(feed):
    await feed.link()
    await feed.arrive(charge("tx0", "O0", minutes=-1, status="failed"), charge("tx1", "O1"),
                      charge("tx2", "O2", minutes=2, status="refunded"))
    await _report_without_order_number(feed, paid_at="2026-11-26 09:01")
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW and await feed.world.refunds() == []


async def _report_without_order_number(feed: Feed, *, paid_at: str) -> None:
    world = feed.world
    start = await world.say(USER, "/report")
    await world.press(USER, button(start, ":no_order").data)
    await world.say(USER, "99.00")
    await world.say(USER, paid_at)
    review = await world.payers.handle(
        world._event(USER, EventKind.PHOTO, attachment=Attachment("photo-1", 2000)))
    await world.press(USER, button(review, ":submit").data)


async def test_a_report_without_an_order_number_pairs_only_live_charges_of_its_payer(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2),
                      charge("x3", "X3", payer="someone-else", minutes=3))
    await _report_without_order_number(feed, paid_at="2026-11-26 09:02")
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}


async def test_a_repeat_in_another_currency_is_no_duplicate(feed):
    await feed.link()
    usd = charge("tx2", "O2", minutes=2)
    usd["currency"] = "USD"
    await feed.arrive(charge("tx1", "O1"), usd)
    assert await feed.suspicions() == []
    await feed.world.report(USER, order="O1", amount="99.00", paid_at="2026-11-26 09:00")
    assert await feed.world.refunds() == []


async def test_a_linked_payer_never_gets_a_refund_of_another_payers_charge(feed):
    await feed.link()  # USER is PAYER
    await feed.arrive(charge("tx1", "O1"), charge("x2", "X2", payer="someone-else", minutes=1),
                      charge("x3", "X3", payer="someone-else", minutes=2))
    await feed.world.report(USER, order="X2", amount="99.00", paid_at="2026-11-26 09:01")
    await feed.world.report(USER, order="O1", amount="99.00", paid_at="2026-11-26 09:00")
    assert await feed.world.refunds() == []
    assert {t.status for t in await feed.tickets()} == {TicketStatus.NEEDS_REVIEW}
    assert PAYER  # the reporter's own payer has one charge only


def _event(tx: str, order: str, at: str, kind: str = "charge.succeeded") -> dict:
    return {"type": kind, "transaction_id": tx, "order_id": order, "payer_id": PAYER, "amount": "99.00",
            "currency": "CNY", "created_at": at}


async def _deliver(feed: Feed, *events: dict, now: datetime | None = None) -> None:
    """Events as `POST /api/payments` hands them to the feed after checking the request."""
    checked = read_events({"events": list(events)}, SHANGHAI, now=now or NOW)
    await receive_payment_events(feed.world.db, checked, watch=feed.watch, clock=feed.world.clock)


async def test_a_repeat_delivered_in_a_concurrent_request_is_still_caught(feed, monkeypatch):
    """Two relay deliveries at once, one charge each: each request must see the other's charge."""
    await feed.link()
    stored, both = [], asyncio.Event()
    add_charges = payment_feed.add_charges

    async def add_then_wait_for_the_other(session, *, rows):
        await add_charges(session, rows=rows)
        stored.append(rows)
        if len(stored) == 2:
            both.set()
        with contextlib.suppress(TimeoutError):  # SQLite: the other request waits for our write lock
            await asyncio.wait_for(both.wait(), 0.5)

    monkeypatch.setattr(payment_feed, "add_charges", add_then_wait_for_the_other)
    await asyncio.gather(_deliver(feed, _event("tx1", "O1", "2026-11-26 09:00")),
                         _deliver(feed, _event("tx2", "O2", "2026-11-26 09:02")))
    [suspicion] = await feed.suspicions()
    assert (suspicion.original_transaction_id, suspicion.transaction_id) == ("tx1", "tx2")
    assert len(await feed.alerts(USER)) == 1


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00",
                                    "0001-01-01T00:00:00+00:00", "1999-12-31T23:59:59Z",
                                    "2026-11-28T02:00:01Z"])
async def test_a_charge_dated_far_from_now_is_refused_and_nothing_is_stored(feed, moment):
    with pytest.raises(EventsRefused, match="created_at"):
        await _deliver(feed, _event("tx1", "O1", moment), now=NOW)
    assert await feed.suspicions() == []


async def test_times_with_any_offset_are_compared_as_moments(feed):
    await feed.link()
    await _deliver(feed, _event("tx1", "O1", "2026-11-26T15:00:00+14:00"),  # 01:00 UTC
                   _event("tx2", "O2", "2026-11-25T15:02:00-10:00"), now=NOW)  # 01:02 UTC
    [suspicion] = await feed.suspicions()
    assert suspicion.transaction_id == "tx2" and len(await feed.alerts(USER)) == 1


async def test_a_repeat_refunded_by_the_rematch_of_the_same_arrival_is_not_asked_about(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"))
    await feed.world.report(USER, order="O1", amount="99.00", paid_at="2026-11-26 09:00")
    await feed.arrive(charge("tx2", "O2", minutes=2))  # confirms the waiting ticket, which is auto-approved
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}
    assert await feed.alerts(USER) == []  # no question about a payment already being refunded


async def test_a_third_payment_after_a_refunded_repeat_is_paired_with_a_payment_that_stands(feed):
    yes = await _asked(feed)
    await feed.world.press(USER, yes)
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}
    await feed.arrive(charge("tx3", "O3", minutes=4))  # paid a third time; tx2 is being refunded
    [_, third] = await feed.suspicions()
    assert (third.original_transaction_id, third.transaction_id) == ("tx1", "tx3")
    [_, alert] = await feed.alerts(USER)
    await feed.world.press(USER, buttons_of(alert)[YES])
    assert dict(feed.world.merchant.refunded) == {"tx2": 1, "tx3": 1}


async def test_approving_after_the_first_payment_was_refunded_elsewhere_refunds_nothing(manual_feed):
    feed = manual_feed
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    await feed.world.report(USER, order="O2", amount="99.00", paid_at="2026-11-26 09:02")
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.VERIFIED
    await feed.arrive(charge("tx1", "O1", status="refunded"))  # the merchant refunded the first by hand
    said = outputs_text(await feed.world.agent_presses(f"sd:{ticket.reference}:approve"))
    assert "would pay the payer back twice" in said
    assert await feed.world.refunds() == [] and not feed.world.merchant.keys
    assert (await feed.tickets())[0].status == TicketStatus.VERIFIED


async def test_picking_a_candidate_the_merchant_refunded_meanwhile_refunds_nothing(manual_feed):
    feed = manual_feed
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    await feed.world.report(55, order="O1", amount="99.00", paid_at="2026-11-26 09:00")  # not the payer
    [ticket] = await feed.tickets()
    assert ticket.status == TicketStatus.NEEDS_REVIEW
    await feed.arrive(charge("tx2", "O2", minutes=2, status="refunded"))
    said = outputs_text(await feed.world.agent_presses(CandidateButton(
        ticket.reference, charge_tag(ticket.reference, "tx2")).pack()))
    assert "cannot be refunded here" in said
    assert await feed.world.refunds() == [] and not feed.world.merchant.keys
