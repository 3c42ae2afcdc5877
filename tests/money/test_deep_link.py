"""/start <token>: a merchant's signed link makes its opener the order's payer, for one Telegram user."""

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select

from handlers.events import Event, EventKind, Person
from handlers.payer.deep_link import make_token
from storage.models import PayerCheck, PayerLink
from storage.payer_links import payer_ids_of_user, users_linked_to
from tests.money.conftest import NOW, World, make_world, outputs_text

SECRET = b"s" * 32
ANN, MALLORY = 7, 66
NAMED = (("tx1", "A1", "payer-ann", "succeeded"), ("tx2", "A1", "payer-ann", "succeeded"))
LINKED = "Your Telegram account is now linked to your payments"
WELCOME = "I'm Refund Assistant"


@pytest.fixture
def world(db, tmp_path) -> World:
    """The money world with deep links on."""
    made = make_world(db, tmp_path)
    made.payers.rules = dataclasses.replace(made.payers.rules, link_secret=SECRET)
    return made


def link(payer_id: str = "payer-ann", expires_in: timedelta = timedelta(days=30)) -> str:
    return make_token(SECRET, payer_id, NOW + expires_in)


async def links(world: World) -> list[tuple[str, int, str]]:
    async with world.db.transaction() as session:
        rows = (await session.exec(select(PayerLink).order_by(PayerLink.telegram_user_id))).all()
    return [(row.payer_id, row.telegram_user_id, row.source) for row in rows]


async def test_a_valid_link_links_the_payer_whose_report_is_then_auto_approved(world: World):
    await world.records(*NAMED)

    answer = outputs_text(await world.say(ANN, f"/start {link()}"))

    assert answer.index(LINKED) < answer.index(WELCOME)  # said first, then the usual welcome
    assert await links(world) == [("payer-ann", ANN, "deep_link")]
    async with world.db.transaction() as session:
        assert await payer_ids_of_user(session, telegram_user_id=ANN) == ["payer-ann"]
        assert await users_linked_to(session, payer_id="payer-ann") == [ANN]
    await world.report(ANN)
    [ticket] = await world.tickets()
    assert (ticket.payer_check, ticket.status) == (PayerCheck.LINKED, "refund_pending")
    assert world.merchant.refunded == {"tx2": 1}


async def test_an_expired_link_links_nobody(world: World):
    await world.records(*NAMED)
    token = link(expires_in=timedelta(days=1))
    world.clock.now = NOW + timedelta(days=1)

    answer = outputs_text(await world.say(ANN, f"/start {token}"))

    assert "This link has expired. Please ask the merchant for a new one." in answer
    assert LINKED not in answer and WELCOME in answer
    assert await links(world) == []
    await world.report(ANN)
    [ticket] = await world.tickets()
    assert (ticket.payer_check, ticket.status) == (PayerCheck.NOT_LINKED, "needs_review")


@pytest.mark.parametrize(
    "token",
    [
        make_token(b"x" * 32, "payer-ann", NOW + timedelta(days=30)),  # signed with another secret
        make_token(SECRET, "payer-ann", NOW + timedelta(days=30))[:-2] + "AA",  # a changed MAC
        "payer-ann",  # typed by hand
        "x" * 80,
    ],
)
async def test_a_forged_or_broken_link_links_nobody(world: World, token: str):
    answer = outputs_text(await world.say(MALLORY, f"/start {token}"))

    assert "This link is not valid." in answer and LINKED not in answer
    assert await links(world) == []


async def test_a_link_already_used_by_another_account_is_refused_and_changes_nothing(world: World):
    token = link()
    await world.say(ANN, f"/start {token}")

    answer = outputs_text(await world.say(MALLORY, f"/start {token}"))
    fresh = outputs_text(await world.say(MALLORY, f"/start {link(expires_in=timedelta(days=2))}"))

    assert "already used by another Telegram account" in answer and "contact" in answer
    assert "already used by another Telegram account" in fresh  # a new link for the same payer too
    assert await links(world) == [("payer-ann", ANN, "deep_link")]


async def test_the_same_user_twice_is_already_linked(world: World):
    await world.say(ANN, f"/start {link()}")

    answer = outputs_text(await world.say(ANN, f"/start {link(expires_in=timedelta(days=3))}"))

    assert "already linked" in answer and LINKED not in answer
    assert await links(world) == [("payer-ann", ANN, "deep_link")]


async def test_a_link_from_the_records_does_not_block_a_deep_link(world: World):
    """Only a deep link taken by another account is refused; the merchant's records may name several users."""
    await world.records(*NAMED, telegram={"payer-ann": MALLORY})

    answer = outputs_text(await world.say(ANN, f"/start {link()}"))

    assert LINKED in answer
    assert await links(world) == [("payer-ann", ANN, "deep_link"), ("payer-ann", MALLORY, "records")]


async def test_two_accounts_opening_one_link_at_once_link_only_one(world: World):
    token = link()

    answers = await asyncio.gather(world.say(ANN, f"/start {token}"), world.say(MALLORY, f"/start {token}"))

    texts = [outputs_text(answer) for answer in answers]
    assert sum(LINKED in text for text in texts) == 1
    assert sum("already used by another" in text for text in texts) == 1
    assert len(await links(world)) == 1


async def test_start_without_a_token_is_the_welcome_as_before(world: World):
    answer = outputs_text(await world.say(ANN, "/start"))

    assert WELCOME in answer and "link" not in answer.lower()
    assert await links(world) == []


async def test_with_deep_links_off_a_token_is_ignored(world: World):
    world.payers.rules = dataclasses.replace(world.payers.rules, link_secret=None)

    answer = outputs_text(await world.say(ANN, f"/start {link()}"))

    assert WELCOME in answer and "link" not in answer.lower()
    assert await links(world) == []


async def test_a_chinese_payer_is_answered_in_chinese(world: World):
    event = Event(update_id=9_000_001, person=Person(ANN, "安", None, "zh-hans"), chat_id=ANN,
                  kind=EventKind.COMMAND, text="/start x", command="start", args="not-a-token")

    answer = outputs_text(await world.payers.handle(event))

    assert "此链接无效" in answer
