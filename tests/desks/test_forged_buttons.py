"""Forged or replayed buttons: every lookup is scoped to the presser, and a stranger learns nothing."""

import pytest

from handlers.events import EventKind, Person
from tests.conftest import make_sqlite
from tests.desks.support_group import (
    ALICE,
    BOB,
    GROUP,
    MALLORY,
    NOW,
    TEXTS,
    Agent,
    Clock,
    button,
    event,
    file_ticket_with_card,
    outbox_texts,
    payer_desk,
    replies,
    said,
    support_desk,
    ticket_state,
    toasts,
)
from tests.lifecycle.conftest import make_policy

ANN, EVE = Person(7, "Ann"), Person(8, "Eve")
REFERENCE, REPORT_KEY, ORDER = "RF-SECRET23", "a1b2c3d4", "A1-77123"
SECRETS = (REFERENCE, ORDER, "123.45", "12,345", "a1b2c3d4")
STALE = TEXTS.get("en", "button.stale")


@pytest.fixture
async def db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
async def world(db, tmp_path):
    """Ann's refunded ticket with its card; the payer desk and the support desk on the same database."""
    await file_ticket_with_card(db, user_id=ANN.id, reference=REFERENCE, status="refunded", order=ORDER,
                                amount_minor=12345, report_key=REPORT_KEY)
    clock, policy = Clock(NOW), make_policy()
    return payer_desk(db, clock, policy, tmp_path), support_desk(db, clock, policy)


def only_stale(outputs) -> bool:
    return toasts(outputs) == [STALE] and len(outputs) == 1


async def press_in_private(desk, person: Person, data: str):
    return await desk.handle(event(person, person.id, EventKind.BUTTON, button_data=data, message_id=5))


PAYER_BUTTONS = [
    f"in:{REPORT_KEY}:submit",
    f"in:{REPORT_KEY}:edit:order",
    f"in:{REPORT_KEY}:cancel",
    f"tk:{REFERENCE}:received",
    f"tk:{REFERENCE}:notyet",
    f"tk:{REFERENCE}:rate:5",
    f"tk:{REFERENCE}:cancel",
]


@pytest.mark.parametrize("data", [*PAYER_BUTTONS, "menu:status", "menu:help", "help:why", "lang:zh", "sd"])
async def test_a_second_user_pressing_the_first_users_button_learns_nothing(db, world, data):
    payers, support = world
    before = await ticket_state(db, REFERENCE), await outbox_texts(db, ANN.id)
    if data == "sd":  # the support family: an outsider on the card, another agent on Alice's preview
        outputs = []
        for action in ("approve", "reject", "ask", "assign"):
            pressed = await Agent(support, MALLORY).press(f"sd:{REFERENCE}:{action}")
            assert pressed == [pressed[0]] and toasts(pressed) == [TEXTS.get("en", "desk.not_allowed")]
            outputs += pressed
        [*_, preview] = await _alice_preview(db, support)
        for label in ("Send", "Edit", "Cancel"):
            pressed = await Agent(support, BOB).press(button(preview, label))
            assert toasts(pressed) == [TEXTS.get("en", "desk.draft_not_yours")] and len(pressed) == 1
            outputs += pressed
    else:
        outputs = await press_in_private(payers, EVE, data)
        if data in PAYER_BUTTONS:
            assert only_stale(outputs)
    shown = said(outputs)
    assert not any(secret in shown for secret in SECRETS), shown
    assert (await ticket_state(db, REFERENCE), await outbox_texts(db, ANN.id)) == before


async def _alice_preview(db, support):
    """Alice drafts a question on a second, open ticket of Ann's (previews exist only for open tickets)."""
    filed = await file_ticket_with_card(db, user_id=ANN.id, reference="RF-OPEN2345", order="B2",
                                        card_message_id=901)
    alice = Agent(support, ALICE)
    await alice.press(f"sd:{filed.reference}:ask")
    return replies(await alice.write(filed, "Which card did you pay with?"))


async def test_the_owner_of_a_filed_report_is_still_told_where_it_went(world):
    payers, _ = world
    [answer] = replies(await press_in_private(payers, ANN, f"in:{REPORT_KEY}:submit"))
    assert answer.text == TEXTS.get("en", "filed.already_filed", reference=REFERENCE,
                                    status=TEXTS.get("en", "status.refunded"))


MALFORMED_IN_PRIVATE = [
    "", ":", "in", "in:", "in::", "in:::::", "tk:", "tk:::", f"tk:{REFERENCE}", f"tk:{REFERENCE}:",
    f"tk:{REFERENCE}:rate:5:6", f"tk:{REFERENCE}:rate:٥", f"tk:{REFERENCE.lower()}:received",
    "tk:RF-ЅЕСRЕТ23:received", f"in:{REPORT_KEY}\u200b:submit", "in:" + "k" * 100 + ":submit",
    "menu:", "menu:status:x", "menu:status\n", "menu:ステータス", "help:", "help:why:x", "lang:", "lang:中文",
    "lang:zh:x", f"sd:{REFERENCE}:approve", "💥" * 40, "x" * 300,
]


async def test_malformed_payer_button_data_gets_the_stale_toast(db, world):
    payers, _ = world
    before = await ticket_state(db, REFERENCE)
    answers = {}
    for data in MALFORMED_IN_PRIVATE:  # one database for all of them: none may change anything
        for presser in (ANN, EVE):  # not even the ticket's owner gets anything from malformed data
            answers[data, presser.id] = await press_in_private(payers, presser, data)
    wrong = {key: outputs for key, outputs in answers.items() if not only_stale(outputs)}
    assert not wrong
    assert await ticket_state(db, REFERENCE) == before


MALFORMED_IN_GROUP = [
    "", ":", "sd", "sd:", "sd:::", f"sd:{REFERENCE}", f"sd:{REFERENCE}:", f"sd:{REFERENCE}:approve:x",
    f"sd:{REFERENCE}:assign:x:y", f"sd:{REFERENCE}:delete", f"sd:{REFERENCE.lower()}:assign",
    "sd:RF-ЅЕСRЕТ23:assign", f"sd:{REFERENCE}:send:", f"sd:{REFERENCE}:send:zzzzzzzzzzzz",
    f"sd:{REFERENCE}:send:{'0' * 12}", f"sd:{REFERENCE}:send:{'0' * 12}:x", f"sd:{REFERENCE}:cancel",
    f"tk:{REFERENCE}:cancel", f"in:{REPORT_KEY}:submit", "sd:" + "R" * 100 + ":assign", "💥" * 40,
]


async def test_malformed_support_button_data_gets_the_stale_toast(db, world):
    _, support = world
    before = await ticket_state(db, REFERENCE)
    answers = {data: await Agent(support, ALICE).press(data) for data in MALFORMED_IN_GROUP}
    wrong = {data: outputs for data, outputs in answers.items() if not only_stale(outputs)}
    assert not wrong
    assert await ticket_state(db, REFERENCE) == before


async def test_an_outsider_in_the_group_is_refused_and_their_messages_ignored(db, world):
    _, support = world
    outsider = Agent(support, MALLORY)
    pressed = await outsider.press(f"sd:{REFERENCE}:reject")
    assert toasts(pressed) == [TEXTS.get("en", "desk.not_allowed")]
    note = event(MALLORY, GROUP, EventKind.TEXT, text="hello", reply_to_message_id=900)
    written = await support.handle(note)
    assert written == []
    assert await outbox_texts(db, ANN.id) == []
