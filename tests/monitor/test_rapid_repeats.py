"""The monitor: a payer paying the same amount again within the window is asked, and answered for."""

import asyncio
from dataclasses import replace
from datetime import timedelta

from handlers.buttons import RepeatAnswer, RepeatButton
from handlers.monitor.arrivals import Source
from storage.models import SuspicionStatus, TicketStatus
from tests.money.conftest import NOW, outputs_text
from tests.monitor.conftest import ADMIN, PAYER, USER, Feed, buttons_of, charge

YES, NO = "Yes, refund the extra one", "No, both were intended"


async def test_a_repeat_on_a_second_order_asks_the_payer_and_yes_refunds_only_the_later_charge(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1", minutes=0))
    assert await feed.messages(USER) == []  # one payment is no repeat
    await feed.arrive(charge("tx2", "O2", minutes=3))
    [alert] = await feed.alerts(USER)
    assert "paid CN¥99.00 twice" in alert.text and "O1" in alert.text and "O2" in alert.text
    assert set(buttons_of(alert)) == {YES, NO}

    answer = await feed.world.press(USER, buttons_of(alert)[YES])
    [ticket] = await feed.tickets()
    assert ticket.reference in outputs_text(answer)
    assert (ticket.order_id, ticket.amount_minor, ticket.payer_check) == ("O2", 9900, "linked")
    assert ticket.status == TicketStatus.REFUND_PENDING  # verified, auto-approved, sent
    [refund] = await feed.world.refunds()
    assert refund.transaction_id == "tx2"
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}
    [suspicion] = await feed.suspicions()
    assert (suspicion.status, suspicion.ticket_id) == (SuspicionStatus.CONFIRMED, ticket.id)


async def test_pressing_yes_again_files_nothing_more(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [alert] = await feed.alerts(USER)
    await feed.world.press(USER, buttons_of(alert)[YES])
    again = await feed.world.press(USER, buttons_of(alert)[YES])
    [ticket] = await feed.tickets()
    assert ticket.reference in outputs_text(again)
    assert len(await feed.world.refunds()) == 1


async def test_two_taps_of_yes_at_once_file_one_ticket(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [alert] = await feed.alerts(USER)
    await asyncio.gather(*(feed.world.press(USER, buttons_of(alert)[YES]) for _ in range(5)))
    assert len(await feed.tickets()) == 1
    assert dict(feed.world.merchant.refunded) == {"tx2": 1}


async def test_no_is_recorded_and_nothing_more_is_sent(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [alert] = await feed.alerts(USER)
    answer = await feed.world.press(USER, buttons_of(alert)[NO])
    assert "both payments were intended" in outputs_text(answer)
    later = await feed.world.press(USER, buttons_of(alert)[YES])
    assert "already answered" in outputs_text(later)
    [suspicion] = await feed.suspicions()
    assert suspicion.status == SuspicionStatus.DECLINED
    assert await feed.tickets() == [] and await feed.world.refunds() == []
    await feed.arrive(charge("tx2", "O2", minutes=2))  # the feed repeats itself
    assert len(await feed.alerts(USER)) == 1


async def test_only_the_payer_asked_can_answer(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [alert] = await feed.alerts(USER)
    stranger = await feed.world.press(77, buttons_of(alert)[YES])
    forged = await feed.world.press(USER, RepeatButton(999, RepeatAnswer.REFUND).pack())
    assert "no longer" in outputs_text(stranger).lower() or "expired" in outputs_text(stranger).lower()
    assert outputs_text(forged) == outputs_text(stranger)
    assert await feed.tickets() == []
    assert (await feed.suspicions())[0].status == SuspicionStatus.ALERTED


async def test_an_unlinked_payer_is_listed_for_the_merchant_and_nobody_is_messaged(feed):
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    [suspicion] = await feed.suspicions()
    assert (suspicion.status, suspicion.payer_id, suspicion.telegram_user_id) == (
        SuspicionStatus.UNLINKED, PAYER, None)
    assert await feed.messages(USER) == []


async def test_an_import_of_history_never_alerts_about_charges_older_than_a_day(feed):
    await feed.link()
    old = NOW - timedelta(days=3)
    await feed.arrive(charge("tx1", "O1", at=old), charge("tx2", "O2", at=old + timedelta(minutes=1)),
                      source=Source.IMPORT)
    [suspicion] = await feed.suspicions()
    assert suspicion.status == SuspicionStatus.HISTORIC
    assert await feed.messages(USER) == []


async def test_what_is_not_a_repeat(feed):
    await feed.link()
    await feed.arrive(
        charge("a1", "O1"), charge("a2", "O2", minutes=11),  # further apart than the 10-minute window
        charge("b1", "O3", payer="b"), charge("b2", "O4", payer="b", minutes=1, amount=9800),  # two amounts
        charge("c1", "O5", payer="c"), charge("c2", "O6", payer="c2", minutes=1),  # two payers
        charge("d1", "O7", payer="d"), charge("d2", "O8", payer="d", minutes=1, status="failed"),  # failed
        charge("e1", "O9", payer=""), charge("e2", "O10", payer="", minutes=1),  # nobody named
    )
    assert await feed.suspicions() == []


async def test_a_third_payment_is_its_own_repeat(feed):
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=1), charge("tx3", "O3", minutes=2))
    assert [(s.original_transaction_id, s.transaction_id) for s in await feed.suspicions()] == [
        ("tx1", "tx2"), ("tx2", "tx3")]
    assert len(await feed.alerts(USER)) == 2


async def test_an_earlier_charge_arriving_late_still_makes_the_later_one_the_repeat(feed):
    await feed.link()
    await feed.arrive(charge("tx2", "O2", minutes=4))
    await feed.arrive(charge("tx1", "O1", minutes=0))
    [suspicion] = await feed.suspicions()
    assert (suspicion.original_transaction_id, suspicion.transaction_id) == ("tx1", "tx2")


async def test_a_repeat_already_refunded_here_is_not_asked_about(feed):
    # The payer reported order A1 (paid twice) before the monitor saw the charges; tx2 was refunded.
    await feed.link()
    quiet = Feed(feed.world, replace(feed.watch, monitor_on=False))
    await quiet.arrive(charge("tx1", "A1"), charge("tx2", "A1", minutes=1))
    await feed.world.report(USER, order="A1", amount="99.00", paid_at="2026-11-26 09:01")
    [refund] = await feed.world.refunds()
    assert refund.transaction_id == "tx2"
    await feed.arrive(charge("tx1", "A1"), charge("tx2", "A1", minutes=1))  # the feed delivers them again
    assert await feed.suspicions() == [] and await feed.alerts(USER) == []


async def test_a_spike_of_repeats_alerts_the_merchant_once_per_period(feed):
    # 20 ordinary charges in the last hour, then repeats: 2 of 22 is over 5%.
    await feed.arrive(*(charge(f"n{i}", f"N{i}", payer=f"p{i}", minutes=i) for i in range(20)))
    await feed.arrive(charge("r1", "R1", payer="q", minutes=30), charge("r2", "R2", payer="q", minutes=31))
    assert await feed.messages(ADMIN) == []  # 1 of 22: under 5%
    await feed.arrive(charge("s1", "S1", payer="s", minutes=40), charge("s2", "S2", payer="s", minutes=41))
    [spike] = await feed.messages(ADMIN)
    assert "2 of the 24 successful charges" in spike.text
    await feed.arrive(charge("t1", "T1", payer="t", minutes=50), charge("t2", "T2", payer="t", minutes=51))
    assert len(await feed.messages(ADMIN)) == 1  # once per period
    feed.world.clock.now = NOW + timedelta(hours=1)  # the next period: its own figures, its own alert
    await feed.arrive(*(charge(f"m{i}", f"M{i}", payer=f"m{i}", minutes=61 + i) for i in range(20)))
    repeats = [charge(f"{p}{i}", f"{p.upper()}{i}", payer=p, minutes=90 + i) for p in "uv" for i in (1, 2)]
    await feed.arrive(*repeats)
    assert len(await feed.messages(ADMIN)) == 2


async def test_below_the_minimum_volume_no_spike_is_reported(feed):
    await feed.arrive(charge("r1", "R1", payer="q"), charge("r2", "R2", payer="q", minutes=1))
    assert await feed.messages(ADMIN) == []  # 1 of 2 is 50%, but 2 charges are too few to judge


async def test_with_the_monitor_off_nothing_is_recorded(db, tmp_path):
    from tests.money.conftest import make_world
    from tests.monitor.conftest import make_feed

    feed = make_feed(make_world(db, tmp_path), monitor_on=False)
    await feed.link()
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    assert await feed.suspicions() == [] and await feed.messages(USER) == []


async def test_a_merchant_admin_lists_the_open_suspicions_and_payers_cannot(db, tmp_path):
    from dataclasses import replace as with_

    from tests.money.conftest import make_world
    from tests.monitor.conftest import make_feed

    world = make_world(db, tmp_path)
    world.payers.rules = with_(world.payers.rules, merchant_admin_ids=frozenset({ADMIN}))
    feed = make_feed(world)
    assert "No suspected duplicate" in outputs_text(await world.say(ADMIN, "/duplicates"))
    await feed.arrive(charge("tx1", "O1"), charge("tx2", "O2", minutes=2))
    listing = outputs_text(await world.say(ADMIN, "/duplicates"))
    assert f"payer {PAYER}, order O2 after order O1" in listing and "not linked to Telegram" in listing
    assert PAYER not in outputs_text(await world.say(USER, "/duplicates"))
