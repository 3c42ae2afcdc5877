"""Reject and Ask: the agent's words are previewed as the payer will read them, and sent only by Send."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import ConfigError, load_settings
from bot.wiring import Services
from handlers.refunds.lifecycle import move_ticket
from storage.models import AgentPrompt, TicketStatus
from storage.tickets import ticket_by_reference
from tests.conftest import make_sqlite
from tests.desks.support_group import (
    ALICE,
    BOB,
    NOW,
    TEXTS,
    Agent,
    Clock,
    button,
    cleared,
    file_ticket_with_card,
    outbox_texts,
    replies,
    support_desk,
    ticket_state,
    toasts,
)
from tests.lifecycle.conftest import make_policy

REASON = "The second charge was a separate order (A2)."
PREVIEW = 4242  # the message id of the preview the agent presses


@pytest.fixture
async def db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def desk(db, clock):
    return support_desk(db, clock, make_policy())


async def draft(agent: Agent, filed, action: str, words: str):
    """Press Reject or Ask on the card, then write the words: the preview comes back."""
    await agent.press(f"sd:{filed.reference}:{action}")
    [preview] = replies(await agent.write(filed, words))
    return preview


def payer_part(preview) -> str:
    """The payer's text inside a preview (between the header line and the footer line)."""
    return preview.text.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]


async def prompts(db) -> list[AgentPrompt]:
    async with db.transaction() as session:
        return list((await session.exec(select(AgentPrompt))).all())


async def test_reject_is_previewed_exactly_and_sent_only_by_send(db, desk):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    [prompt] = replies(await alice.press(f"sd:{filed.reference}:reject"))
    assert "15 minutes" in prompt.text and "before anything is sent" in prompt.text

    preview = await draft(alice, filed, "reject", f"  {REASON}  ")
    expected = TEXTS.get("en", "notice.rejected", reference=filed.reference, reason=REASON)
    assert payer_part(preview) == expected
    assert "in English" in preview.text and "Alice presses Send" in preview.text
    assert [b.label for row in preview.buttons for b in row] == ["📤 Send", "✏️ Edit", "🗑 Cancel"]
    assert all(b.data.startswith(f"sd:{filed.reference}:") and len(b.data.encode()) <= 64
               for row in preview.buttons for b in row)
    assert await outbox_texts(db, 7) == []  # nothing reached the payer yet
    assert (await ticket_state(db, filed.reference))[0] == "verified"

    sent = await alice.press(button(preview, "Send"), message_id=PREVIEW)
    assert [r.text for r in replies(sent)] == [
        TEXTS.get("en", "desk.rejected", reference=filed.reference, name="Alice")
    ]
    assert cleared(sent) == [PREVIEW]
    assert await outbox_texts(db, 7) == [expected]
    assert (await ticket_state(db, filed.reference))[0] == "rejected"
    assert await prompts(db) == []


async def test_ask_is_previewed_in_the_payers_language_and_relayed(db, desk):
    filed = await file_ticket_with_card(db, locale="zh")
    alice = Agent(desk, ALICE)
    preview = await draft(alice, filed, "ask", "Which card did you pay with?")
    expected = TEXTS.get("zh", "notice.question", reference=filed.reference,
                         question="Which card did you pay with?")
    assert payer_part(preview) == expected and "客服想了解" in expected
    assert "in 中文" in preview.text  # the header is in the group's language, the payer's text in theirs
    await alice.press(button(preview, "Send"), message_id=PREVIEW)
    assert await outbox_texts(db, 7) == [expected]
    assert (await ticket_state(db, filed.reference))[0] == "needs_info"


async def test_edit_takes_the_next_message_as_the_new_draft_and_the_old_preview_is_inert(db, desk):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    first = await draft(alice, filed, "reject", "Typo'd reasn")
    edited = await alice.press(button(first, "Edit"), message_id=PREVIEW)
    assert "send the new text" in replies(edited)[0].text and cleared(edited) == [PREVIEW]
    [second] = replies(await alice.write(filed, REASON))
    assert REASON in second.text
    assert toasts(await alice.press(button(first, "Send"))) == [TEXTS.get("en", "button.stale")]
    assert await outbox_texts(db, 7) == []
    await alice.press(button(second, "Send"))
    [notice] = await outbox_texts(db, 7)
    assert REASON in notice and "reasn" not in notice


async def test_cancel_drops_the_draft_and_later_messages_are_notes(db, desk):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    preview = await draft(alice, filed, "reject", REASON)
    cancelled = await alice.press(button(preview, "Cancel"), message_id=PREVIEW)
    assert "nothing was sent" in replies(cancelled)[0].text and cleared(cancelled) == [PREVIEW]
    assert await alice.write(filed, "Internal: this one is a test order") == []
    assert toasts(await alice.press(button(preview, "Send"))) == [TEXTS.get("en", "button.stale")]
    assert await outbox_texts(db, 7) == []
    assert await ticket_state(db, filed.reference) == ("verified", 1)
    assert await prompts(db) == []


async def test_messages_while_a_preview_waits_and_after_sending_are_notes(db, desk):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    preview = await draft(alice, filed, "ask", "Which card did you pay with?")
    assert await alice.write(filed, "Internal: Bob, can you check the ledger?") == []
    await alice.press(button(preview, "Send"))
    assert await alice.write(filed, "Internal: asked, waiting") == []
    notices = await outbox_texts(db, 7)
    assert len(notices) == 1 and "Which card" in notices[0] and "Internal" not in notices[0]


async def test_only_the_agent_who_wrote_the_preview_can_use_it(db, desk):
    filed = await file_ticket_with_card(db)
    alice, bob = Agent(desk, ALICE), Agent(desk, BOB)
    preview = await draft(alice, filed, "reject", REASON)
    for label in ("Send", "Edit", "Cancel"):
        outputs = await bob.press(button(preview, label))
        assert outputs == [outputs[0]] and toasts(outputs) == [TEXTS.get("en", "desk.draft_not_yours")]
    assert await outbox_texts(db, 7) == []
    assert (await ticket_state(db, filed.reference))[0] == "verified"
    await alice.press(button(preview, "Send"))  # still Alice's, untouched by Bob's presses
    assert (await ticket_state(db, filed.reference))[0] == "rejected"


async def test_the_ticket_is_checked_again_at_send(db, desk, clock):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    preview = await draft(alice, filed, "reject", REASON)
    async with db.transaction() as session:  # meanwhile the payer cancels the ticket
        ticket = await ticket_by_reference(session, reference=filed.reference, lock=True)
        await move_ticket(session, ticket, TicketStatus.CANCELLED, actor="payer:7", note="cancelled", now=NOW)
    sent = await alice.press(button(preview, "Send"), message_id=PREVIEW)
    [said] = replies(sent)
    assert said.text.startswith("Nothing was sent") and "cancelled" in said.text
    assert cleared(sent) == [PREVIEW]
    assert await outbox_texts(db, 7) == []
    assert (await ticket_state(db, filed.reference))[0] == "cancelled"
    assert await prompts(db) == []


async def test_a_double_tap_on_send_sends_once(db, clock):
    """On both databases (the `db` fixture): the row locks decide."""
    desk = support_desk(db, clock, make_policy())
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    preview = await draft(alice, filed, "reject", REASON)
    first, second = await asyncio.gather(*(alice.press(button(preview, "Send")) for _ in range(2)))
    outcomes = sorted([replies(first)[0].text if replies(first) else toasts(first)[0],
                       replies(second)[0].text if replies(second) else toasts(second)[0]])
    assert outcomes == sorted([TEXTS.get("en", "desk.rejected", reference=filed.reference, name="Alice"),
                               TEXTS.get("en", "button.stale")])
    assert len(await outbox_texts(db, 7)) == 1
    assert await ticket_state(db, filed.reference) == ("rejected", 2)


@pytest.mark.parametrize("timeout, waited, expired", [
    (timedelta(minutes=15), timedelta(minutes=14), False),
    (timedelta(minutes=15), timedelta(minutes=15, seconds=1), True),
    (timedelta(minutes=5), timedelta(minutes=6), True),
])
async def test_a_prompt_older_than_the_timeout_is_void(db, clock, timeout, waited, expired):
    desk = support_desk(db, clock, make_policy(), prompt_timeout=timeout)
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    await alice.press(f"sd:{filed.reference}:reject")
    clock.now = NOW + waited
    [answer] = replies(await alice.write(filed, REASON))
    if not expired:
        assert answer.buttons and REASON in answer.text
        return
    assert not answer.buttons and "lapsed" in answer.text and "internal note" in answer.text
    assert "✖️ Reject" in answer.text and "❓ Ask" in answer.text  # how to start again
    assert await alice.write(filed, REASON) == []  # told once; later messages are plain notes
    assert await outbox_texts(db, 7) == []
    assert await ticket_state(db, filed.reference) == ("verified", 1)


async def test_an_expired_preview_cannot_be_sent(db, desk, clock):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    clock.now = NOW + timedelta(minutes=10)
    preview = await draft(alice, filed, "reject", REASON)  # the preview gets a full timeout of its own
    clock.now = NOW + timedelta(minutes=24)
    assert toasts(await Agent(desk, BOB).press(f"sd:{filed.reference}:assign")) == ["Assigned to you."]
    clock.now = NOW + timedelta(minutes=25, seconds=1)
    sent = await alice.press(button(preview, "Send"), message_id=PREVIEW)
    assert toasts(sent) == [TEXTS.get("en", "desk.draft_expired", reject="✖️ Reject", ask="❓ Ask")]
    assert cleared(sent) == [PREVIEW] and not replies(sent)
    assert await outbox_texts(db, 7) == []
    assert await ticket_state(db, filed.reference) == ("verified", 1)
    assert await prompts(db) == []


async def test_one_pending_prompt_per_agent(db, desk):
    first = await file_ticket_with_card(db)
    second = await file_ticket_with_card(db, user_id=8, reference="RF-SECOND23", card_message_id=901)
    alice = Agent(desk, ALICE)
    stale = await draft(alice, first, "reject", REASON)
    await alice.press(f"sd:{second.reference}:ask")  # a new prompt replaces the old one
    assert await alice.write(first, "Internal: never mind") == []
    assert toasts(await alice.press(button(stale, "Send"))) == [TEXTS.get("en", "button.stale")]
    [preview] = replies(await alice.write(second, "Which card did you pay with?"))
    await alice.press(button(preview, "Send"))
    assert await outbox_texts(db, 7) == [] and len(await outbox_texts(db, 8)) == 1
    assert await prompts(db) == []


async def test_a_photo_or_a_too_long_text_is_answered_and_the_prompt_waits(db, desk):
    filed = await file_ticket_with_card(db)
    alice = Agent(desk, ALICE)
    await alice.press(f"sd:{filed.reference}:ask")
    [photo] = replies(await alice.photo(filed))
    assert "only text reaches the payer" in photo.text and not photo.buttons
    [too_long] = replies(await alice.write(filed, "x" * 1001))
    assert "1001 characters" in too_long.text and "at most 1000" in too_long.text
    [preview] = replies(await alice.write(filed, "y" * 1000))
    assert "y" * 1000 in preview.text and len(preview.text) <= 4096 and preview.buttons
    assert await outbox_texts(db, 7) == []


def test_prompt_timeout_is_a_setting_carried_to_the_support_desk():
    settings = load_settings(bot_token="1:x", prompt_timeout="5m")
    services = Services(settings=settings, db=None, texts=TEXTS, evidence=None, clock=None, provider=None)
    assert services.support_settings().prompt_timeout == timedelta(minutes=5)
    assert load_settings(bot_token="1:x").prompt_timeout == timedelta(minutes=15)
    for wrong in ("off", "0m", "soon"):
        with pytest.raises(ConfigError, match="PROMPT_TIMEOUT"):
            load_settings(bot_token="1:x", prompt_timeout=wrong)
