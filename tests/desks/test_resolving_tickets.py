"""Every ticket resolvable at the support desk: pick the duplicate among candidate charges, or record a
refund made outside the bot."""

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from handlers.buttons import CandidateButton, DeskButton, DraftButton, TicketButton
from handlers.events import EventKind, Output, Reply, Toast
from handlers.parsing import InputRejected
from handlers.refunds.outside import read_outside_refund
from handlers.support.candidates import charge_tag
from storage.models import AgentPrompt, SupportCard, Ticket, TicketAudit, TicketTransaction
from storage.payer_links import link_payers
from storage.transactions import save_transactions
from tests.money.conftest import AGENT, NOW, SHANGHAI, SUPPORT_CHAT, TEXTS, World, make_world, outputs_text

ANN, BOB, MALLORY = 7, 8, 66
PAYER_ANN = "wx-openid-ann-0001"  # long enough to be masked on a card: wx…0001
CARD_MESSAGE = 900
STALE = TEXTS.get("en", "button.stale")


@pytest.fixture
def world(db, tmp_path) -> World:
    """Every ticket goes to a person, on SQLite and on PostgreSQL."""
    return make_world(db, tmp_path, auto_limit=None)


def at(clock: str) -> datetime:
    """A time on the day of the tests, in Shanghai."""
    hours, minutes = map(int, clock.split(":"))
    return datetime(2026, 11, 26, hours, minutes, tzinfo=SHANGHAI)


async def charges(world: World, *rows: tuple[str, str, str, str, str], links: dict[str, int] | None = None):
    """The merchant's charges (transaction id, order, payer id, status, Shanghai time), all CNY 99.00."""
    records = [
        {"transaction_id": tx, "order_id": order, "payer_id": payer, "amount_minor": 9900, "currency": "CNY",
         "status": status, "created_at": at(clock), "method": None}
        for tx, order, payer, status, clock in rows
    ]
    async with world.db.transaction() as session:
        await save_transactions(session, rows=records)
        await link_payers(session, links=list((links or {}).items()), source="records", now=NOW)


# Ann paid order A1 at 09:00, tapped again after a timeout at 09:25 (a new order, A2): too far apart for
# the automatic 10-minute match, so her report of A1 waits for a person. 07:00 is outside the reach of her
# "09:30"; Bob's charge is another payer's.
ANNS_DAY = (
    ("tx-a1", "A1", PAYER_ANN, "succeeded", "09:00"),
    ("tx-a2", "A2", PAYER_ANN, "succeeded", "09:25"),
    ("tx-early", "A3", PAYER_ANN, "succeeded", "07:00"),
    ("tx-bob", "A4", "wx-openid-bob-0002", "succeeded", "09:20"),
)


async def anns_ticket(world: World) -> Ticket:
    await charges(world, *ANNS_DAY, links={PAYER_ANN: ANN})
    await world.report(ANN, order="A1")
    [ticket] = await world.tickets()
    assert ticket.status == "needs_review"
    return ticket


async def ticket_command(world: World, reference: str) -> Reply:
    [reply] = await world.support.handle(world._event(
        AGENT, EventKind.COMMAND, chat_id=SUPPORT_CHAT, text=f"/ticket {reference}", command="ticket",
        args=reference,
    ))
    assert isinstance(reply, Reply)
    return reply


def pick(reference: str, transaction_id: str) -> str:
    return CandidateButton(reference, charge_tag(reference, transaction_id)).pack()


async def roles(world: World, ticket: Ticket) -> dict[str, str]:
    async with world.db.transaction() as session:
        query = select(TicketTransaction).where(TicketTransaction.ticket_id == ticket.id)
        return {m.transaction_id: m.role for m in (await session.exec(query)).all()}


async def audit(world: World, ticket: Ticket) -> list[TicketAudit]:
    async with world.db.transaction() as session:
        query = select(TicketAudit).where(TicketAudit.ticket_id == ticket.id).order_by(TicketAudit.id)
        return list((await session.exec(query)).all())


async def state(world: World, ticket: Ticket) -> tuple:
    """Everything a refused press must leave as it was."""
    [now] = [t for t in await world.tickets() if t.id == ticket.id]
    return now.status, await roles(world, ticket), len(await audit(world, ticket)), len(await world.refunds())


def toasts(outputs: list[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Toast)]


# --- the candidates on the card -----------------------------------------------------------------------


async def test_a_needs_review_card_lists_the_payers_charge_on_another_order_with_its_button(world: World):
    ticket = await anns_ticket(world)

    card = await ticket_command(world, ticket.reference)

    text = card.text
    assert "Candidate charges" in text
    assert "order A1 · tx-a1 · succeeded · payer wx…0001" in text
    assert "order A2 · tx-a2 · succeeded · payer wx…0001" in text
    assert "Nov 26, 2026 9:25\u202fAM" in text  # in the support group's zone
    assert PAYER_ANN not in text and "tx-early" not in text and "tx-bob" not in text
    data = [b.data for row in card.buttons for b in row]
    assert pick(ticket.reference, "tx-a2") in data and pick(ticket.reference, "tx-a1") in data
    assert DeskButton(ticket.reference, "outside").pack() in data
    assert all(len(d.encode()) <= 64 for d in data)
    labels = [b.label for row in card.buttons for b in row]
    assert "💸 Refund this charge (#2)" in labels and "🏦 Refunded outside the bot" in labels


async def test_the_card_caps_its_list_and_says_how_many_more(world: World):
    # Eight orders 11 minutes apart (no two are a duplicate), all within reach of "09:30".
    times = [f"{(505 + 11 * n) // 60:02d}:{(505 + 11 * n) % 60:02d}" for n in range(8)]  # 08:25 … 09:42
    await charges(world, *((f"tx-{n}", f"B{n}", PAYER_ANN, "succeeded", t) for n, t in enumerate(times)),
                  links={PAYER_ANN: ANN})
    await world.report(ANN, order="B0")
    [ticket] = await world.tickets()

    card = await ticket_command(world, ticket.reference)

    assert "… and 3 more" in card.text and card.text.count(" · payer wx…0001") == 5
    assert sum(b.data.startswith("pick:") for row in card.buttons for b in row) == 5


# --- Refund this charge -------------------------------------------------------------------------------


async def test_picking_a_candidate_refunds_that_charge_only_and_only_once(world: World):
    ticket = await anns_ticket(world)
    data = pick(ticket.reference, "tx-a2")

    first = await world.agent_presses(data)

    said = outputs_text(first)
    assert "named charge tx-a2 (order A2) as the duplicate" in said and "approved by user501" in said
    assert [(r.transaction_id, r.status) for r in await world.refunds()] == [("tx-a2", "pending")]
    assert world.merchant.refunded == {"tx-a2": 1}
    assert await roles(world, ticket) == {"tx-a1": "original", "tx-a2": "duplicate"}
    notes = [row.note for row in await audit(world, ticket)]
    assert any("picked charge tx-a2 (order A2) as the duplicate; original: tx-a1" in n for n in notes)

    again = await world.agent_presses(data)

    assert toasts(again) and toasts(again)[0].startswith("Already")
    assert len(await world.refunds()) == 1 and world.merchant.refunded == {"tx-a2": 1}


async def test_a_forged_or_foreign_charge_tag_gets_the_stale_toast_and_changes_nothing(world: World):
    ticket = await anns_ticket(world)
    before = await state(world, ticket)

    for data in (f"pick:{ticket.reference}:0123456789", pick(ticket.reference, "tx-bob"),
                 pick(ticket.reference, "tx-early"), pick("RF-NOSUCH23", "tx-a2")):
        assert toasts(await world.agent_presses(data)) == [STALE], data

    assert await state(world, ticket) == before and world.merchant.keys == []


async def test_a_candidate_refunded_through_another_ticket_is_refused_and_named(world: World):
    ann = await anns_ticket(world)
    old_card = await ticket_command(world, ann.reference)
    await world.report(BOB, order="A2")  # Bob is not the payer: a person looks, and refunds tx-a2 for him
    bob = next(t for t in await world.tickets() if t.user_id == BOB)
    await world.agent_presses(pick(bob.reference, "tx-a2"))
    before = await state(world, ann)

    answer = outputs_text(await world.agent_presses(pick(ann.reference, "tx-a2")))  # from the old card

    assert pick(ann.reference, "tx-a2") in [b.data for row in old_card.buttons for b in row]
    assert bob.reference in answer and "already has a refund" in answer
    assert await state(world, ann) == before and world.merchant.refunded == {"tx-a2": 1}
    card = await ticket_command(world, ann.reference)
    assert f"order A2 · tx-a2 · succeeded · payer wx…0001 · refund on {bob.reference} (pending)" in card.text
    assert pick(ann.reference, "tx-a2") not in [b.data for row in card.buttons for b in row]


async def test_someone_who_is_not_an_agent_cannot_pick(world: World):
    ticket = await anns_ticket(world)
    before = await state(world, ticket)

    answer = await world.agent_presses(pick(ticket.reference, "tx-a2"), agent=MALLORY)

    assert toasts(answer) == [TEXTS.get("en", "desk.not_allowed")]
    assert await state(world, ticket) == before and world.merchant.keys == []


async def named_pair_reported_by_someone_else(world: World) -> Ticket:
    """Order A1 paid twice by Ann's payer id, reported by Mallory: needs a person, tx2 is the duplicate."""
    await charges(world, ("tx1", "A1", PAYER_ANN, "succeeded", "09:20"),
                  ("tx2", "A1", PAYER_ANN, "succeeded", "09:21"), links={PAYER_ANN: ANN})
    await world.report(MALLORY, order="A1")
    [ticket] = await world.tickets()
    assert ticket.status == "needs_review" and await roles(world, ticket) == {
        "tx1": "original", "tx2": "duplicate"}
    return ticket


async def test_pick_racing_approve_makes_one_refund(world: World):
    ticket = await named_pair_reported_by_someone_else(world)

    answers = await asyncio.gather(
        world.agent_presses(f"sd:{ticket.reference}:approve"),
        world.agent_presses(pick(ticket.reference, "tx1")),
    )

    [refund] = await world.refunds()
    assert sum(world.merchant.refunded.values()) == 1 and refund.transaction_id in world.merchant.refunded
    assert sum(any(t.startswith("Already") for t in toasts(a)) for a in answers) == 1
    picked_won = refund.transaction_id == "tx1"
    assert await roles(world, ticket) == (
        {"tx1": "duplicate", "tx2": "original"} if picked_won else {"tx1": "original", "tx2": "duplicate"})


async def test_two_tickets_picking_the_same_charge_at_once_make_one_refund(world: World):
    ann = await anns_ticket(world)
    await world.report(BOB, order="A2")
    bob = next(t for t in await world.tickets() if t.user_id == BOB)
    before = {t.id: await state(world, t) for t in (ann, bob)}

    answers = await asyncio.gather(
        world.agent_presses(pick(ann.reference, "tx-a2")), world.agent_presses(pick(bob.reference, "tx-a2"))
    )

    [refund] = await world.refunds()
    assert world.merchant.refunded == {"tx-a2": 1}
    loser = ann if refund.ticket_id == bob.id else bob
    assert "already has a refund" in outputs_text(answers[0 if loser is ann else 1])
    assert await state(world, loser) == (*before[loser.id][:3], 1)  # only the winner's refund is new


# --- Refunded outside the bot -------------------------------------------------------------------------


async def post_card(world: World, ticket: Ticket) -> None:
    async with world.db.transaction() as session:
        session.add(SupportCard(ticket_id=ticket.id, chat_id=SUPPORT_CHAT, message_id=CARD_MESSAGE,
                                shown_status=ticket.status, touched_at=NOW, created_at=NOW))


async def agent_writes(world: World, text: str) -> list[Output]:
    return await world.support.handle(world._event(
        AGENT, EventKind.TEXT, chat_id=SUPPORT_CHAT, text=text, reply_to_message_id=CARD_MESSAGE
    ))


def send_button(preview: Reply) -> str:
    return next(b.data for row in preview.buttons for b in row if DraftButton.parse(b.data).verb == "send")


async def prompts(world: World) -> list[AgentPrompt]:
    async with world.db.transaction() as session:
        return list((await session.exec(select(AgentPrompt))).all())


async def test_an_outside_refund_above_the_reported_amount_is_refused_and_the_prompt_stays(world: World):
    ticket = await anns_ticket(world)
    await post_card(world, ticket)
    prompt = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:outside"))
    assert "at most CN¥99.00" in prompt and "and a note" in prompt

    for words, why in (("120 bank transfer", "more than the reported CN¥99.00"),
                       ("0 bank transfer", "must be more than zero"),
                       ("-5 bank transfer", "must be more than zero"),
                       ("lots of money", "could not read an amount"),
                       ("$99 bank transfer", "is in CNY, not USD"),
                       ("99.00", "add a note")):
        answer = await agent_writes(world, words)
        assert why in outputs_text(answer) and not any(getattr(o, "buttons", ()) for o in answer), words

    [waiting] = await prompts(world)
    assert (waiting.action, waiting.draft) == ("outside", None)
    assert (await world.tickets())[0].status == "needs_review" and await world.refunds() == []
    assert [m for m in await world.outbox(ANN) if "outside" in m.text] == []


async def test_a_confirmed_outside_refund_closes_the_ticket_and_tells_the_payer_honestly(world: World):
    ticket = await anns_ticket(world)
    await post_card(world, ticket)
    await world.agent_presses(f"sd:{ticket.reference}:outside")

    [preview] = [o for o in await agent_writes(world, "80.50 bank transfer, ref 123") if isinstance(o, Reply)]

    told = f"The merchant refunded CN¥80.50 for {ticket.reference} outside this chat: bank transfer, ref 123"
    assert told in preview.text and "Send records a refund of CN¥80.50" in preview.text
    assert await world.refunds() == []  # nothing before Send
    send = send_button(preview)

    done = outputs_text(await world.agent_presses(send))

    assert "closed by user501 as refunded outside the bot: CN¥80.50 — bank transfer, ref 123" in done
    [refund] = await world.refunds()
    assert (refund.provider, refund.status, refund.amount_minor, refund.currency) == (
        "outside", "succeeded", 8050, "CNY")
    assert refund.transaction_id == f"outside:{ticket.reference}" and refund.landed_at == NOW
    assert world.merchant.keys == []  # nobody was asked to refund anything
    last = (await audit(world, ticket))[-1]
    assert (last.from_status, last.to_status, last.actor) == ("needs_review", "refunded", f"agent:{AGENT}")
    assert "user501" in last.note and "bank transfer, ref 123" in last.note and "80.50 CNY" in last.note
    [notice] = [m for m in await world.outbox(ANN) if "outside this chat" in m.text]
    assert notice.text.startswith(told)
    assert TicketButton(ticket.reference, "received").pack() in notice.buttons
    assert TicketButton(ticket.reference, "notyet").pack() in notice.buttons
    assert await prompts(world) == [] and (await world.tickets())[0].status == "refunded"


async def test_an_outside_refund_takes_the_duplicate_charge_so_it_is_never_refunded_again(world: World):
    ticket = await named_pair_reported_by_someone_else(world)
    await post_card(world, ticket)
    await world.agent_presses(f"sd:{ticket.reference}:outside")
    [preview] = [o for o in await agent_writes(world, "99 CNY cash at the counter") if isinstance(o, Reply)]
    await world.agent_presses(send_button(preview))
    await world.report(ANN, order="A1")  # the payer herself, afterwards

    [outside] = await world.refunds()
    assert (outside.transaction_id, outside.provider) == ("tx2", "outside")
    assert world.merchant.keys == [] and len(await world.tickets()) == 1


async def test_outside_on_a_ticket_whose_refund_landed_says_so_and_prompts_nothing(world: World):
    ticket = await named_pair_reported_by_someone_else(world)
    world.merchant.script.append("succeeded")
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    await world.press(MALLORY, TicketButton(ticket.reference, "notyet").pack())  # back to a person
    assert (await world.tickets())[0].status == "needs_review"

    answer = outputs_text(await world.agent_presses(f"sd:{ticket.reference}:outside"))

    assert "was completed" in answer and "A second refund of the same charge is not possible" in answer
    assert await prompts(world) == [] and len(await world.refunds()) == 1


# --- the rules underneath -----------------------------------------------------------------------------


REPORTED = Ticket(reference="RF-TEST2345", amount_minor=9900, currency="CNY")


@pytest.mark.parametrize(
    ("words", "amount", "note"),
    [
        ("99.00 bank transfer, ref 123", "99.00", "bank transfer, ref 123"),
        ("¥50 cash at the counter", "50.00", "cash at the counter"),
        ("99 CNY wire 42", "99.00", "wire 42"),
        ("80.5\nby bank, ref A-1", "80.50", "by bank, ref A-1"),
    ],
)
def test_an_outside_refund_is_an_amount_then_a_note(words, amount, note):
    read = read_outside_refund(words, REPORTED)
    assert (read.amount.amount, read.amount.currency, read.note) == (Decimal(amount), "CNY", note)


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ("99.01 bank", "desk.outside_too_much"),
        ("0 bank", "desk.outside_not_positive"),
        ("-1 bank", "desk.outside_not_positive"),
        ("bank 99", "desk.outside_not_amount"),
        ("99.001 bank", "desk.outside_not_amount"),
        ("$10 bank", "desk.outside_other_currency"),
        ("99", "desk.outside_needs_note"),
    ],
)
def test_a_bad_outside_refund_names_what_is_wrong(words, key):
    with pytest.raises(InputRejected) as refused:
        read_outside_refund(words, REPORTED)
    assert refused.value.key == key


def test_a_candidate_button_fits_and_parses_only_as_itself():
    data = CandidateButton("RF-SECRET23", charge_tag("RF-SECRET23", "4200001234" * 6)).pack()
    assert len(data.encode()) <= 64 and CandidateButton.parse(data) == CandidateButton(
        "RF-SECRET23", charge_tag("RF-SECRET23", "4200001234" * 6))
    assert DeskButton.parse(data) is None and DraftButton.parse(data) is None
    for forged in ("pick:RF-SECRET23:0123456789ab", "pick:RF-SECRET23:ABCDEF0123", "pick:RF-SECRET23",
                   "pick:rf-secret23:0123456789", "pick:RF-SECRET23:0123456789:x",
                   "sd:RF-SECRET23:0123456789"):
        assert CandidateButton.parse(forged) is None, forged


def test_a_charge_tag_belongs_to_one_ticket():
    assert charge_tag("RF-AAAAAAAA", "tx-1") != charge_tag("RF-BBBBBBBB", "tx-1")
    assert len(charge_tag("RF-AAAAAAAA", "tx-1")) == 10
