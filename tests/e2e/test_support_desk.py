"""The support group through the real runtime: cards, buttons, prompts, relays, topics, SLA, commands."""

import asyncio
import csv
import io
from datetime import timedelta

import pytest
from aiogram import Bot
from PIL import Image

from handlers.refunds.requests import approve_and_send
from storage.outbox import count_by_status
from storage.tickets import all_tickets, ticket_by_reference
from telegram_sandbox.client import button_data, buttons
from tests.e2e.conftest import NOW, TOKEN, Payer, image_bytes
from tests.e2e.test_report_flow import CHARGE_1, CHARGE_2, report_until_review
from tests.sandbox.helpers import sandbox_session

GROUP = -1001234567890
ALICE, BOB, MALLORY = 501, 502, 666


async def next_matching(client, chat: int, after: int, predicate, timeout: float = 15) -> dict:
    """The first bot message after `after` that satisfies the predicate."""
    count = 1
    while True:
        arrived = await client.wait_for_bot_messages(
            chat, after_message_id=after, count=count, timeout=timeout
        )
        for message in arrived:
            if predicate(message):
                return message
        count = len(arrived) + 1


def card_like(message: dict) -> bool:
    return "🧾" in (message.get("caption") or message.get("text") or "")


async def in_thread(client, card: dict, text: str, agent: int) -> None:
    """An agent writes in the ticket's thread: its topic, or a reply to its card."""
    thread = card.get("message_thread_id")
    await client.send_text(GROUP, text, from_id=agent, message_thread_id=thread,
                           reply_to_message_id=None if thread else card["message_id"])


def body(message: dict) -> str:
    return message.get("caption") or message.get("text") or ""


async def send_preview(client, after: int, words: str, agent: int) -> dict:
    """Wait for the preview of the agent's words in the group and press its Send."""
    preview = await next_matching(client, GROUP, after, lambda m: "Preview" in body(m) and words in body(m))
    await client.press(GROUP, preview["message_id"], button_data(preview, "Send"), from_id=agent)
    return preview


async def last_id(client, chat: int) -> int:
    return max((m["message_id"] for m in await client.messages(chat)), default=0)


@pytest.fixture(params=[False, True], ids=["replies", "topics"])
async def desk(request, harness, client):
    """A support group (with or without topics), two agents, and a payer with a confirmed duplicate."""
    for agent, name in ((ALICE, "Alice"), (BOB, "Bob"), (MALLORY, "Mallory")):
        await client.create_user(agent, first_name=name)
    await client.create_group(
        GROUP, "Refund support", is_forum=request.param, member_ids=[ALICE, BOB, MALLORY]
    )
    await harness.stop()
    harness.overrides.update(support_chat_id=str(GROUP), support_user_ids=f"{ALICE},{BOB}", support_sla="4h")
    await harness.start()
    await harness.import_charges(
        ("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
        ("tx2", "A1", "99.00", "CNY", "succeeded", CHARGE_2),
    )
    return request.param


async def file_and_get_card(payer: Payer, client, order: str = "A1") -> tuple[dict, str]:
    before = await last_id(client, GROUP)
    review = await report_until_review(payer, order=order)
    [filed] = await payer.press(review, "Submit")
    reference = next(word.rstrip(".") for word in filed["text"].split() if word.startswith("RF-"))
    card = await next_matching(client, GROUP, before, lambda m: card_like(m) and reference in body(m))
    return card, reference


async def outbox_drained(harness) -> None:
    """Wait until no outbox message is waiting or being sent."""
    for _ in range(300):
        async with harness.running.services.db.transaction() as session:
            statuses = await count_by_status(session)
        if not {"pending", "sending"} & set(statuses):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox did not drain: {statuses}")


async def ticket_status(harness, reference: str) -> str:
    async with harness.running.services.db.transaction() as session:
        return (await ticket_by_reference(session, reference=reference)).status


async def test_a_card_arrives_with_its_evidence_and_matched_charges(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    text = body(card)
    assert f"🧾 {reference} · duplicate confirmed" in text
    assert f"Payer: Ann (id {payer.id}, en)" in text and "Order: A1 · Amount: CN¥99.00" in text
    assert "Charges of this order:" in text and "← duplicate" in text and "(original)" in text
    assert card["photo"], "the screenshot is on the card"
    assert [label for label, _ in buttons(card)] == [
        "✅ Approve", "✖️ Reject", "❓ Ask", "🙋 Assign to me", "🏦 Refunded outside the bot"]
    topics = await client.calls("createForumTopic")
    if desk:
        assert [c["params"]["name"] for c in topics] == [f"{reference} · duplicate confirmed"]
        assert (
            card["message_thread_id"] == (await client.calls("createForumTopic"))[0]["result_thread_id"]
            if "result_thread_id" in topics[0]
            else card.get("message_thread_id")
        )
    else:
        assert topics == [] and not card.get("message_thread_id")


async def edit_showing(client, card: dict, words: str, timeout: float = 15) -> dict:
    """The card's first edit whose text shows `words`."""
    edits = 0
    while True:
        edited = await client.wait_for_edit(GROUP, card["message_id"], since_edit=edits, timeout=timeout)
        if words in body(edited):
            return edited
        edits = edited["sandbox"]["edit_count"]


async def test_approve_refunds_and_edits_the_card_in_place(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    before = await payer.last_message_id()
    await client.press(GROUP, card["message_id"], button_data(card, "Approve"), from_id=ALICE)
    started = await next_matching(client, payer.id, before, lambda m: "on its way" in m.get("text", ""))
    assert reference in started["text"]
    # The card may first show "refund approved" (recorded, provider not yet answered), then the answer.
    edited = await edit_showing(client, card, "refund on its way")
    assert "Alice" in body(edited) and buttons(edited) == []
    assert await ticket_status(harness, reference) == "refund_pending"
    if desk:
        names = [c["params"]["name"] for c in await client.calls("editForumTopic")]
        assert names[-1] == f"{reference} · refund on its way"


async def test_two_agents_pressing_at_once_one_wins(harness, payer, client, desk):
    card, _reference = await file_and_get_card(payer, client)
    await asyncio.gather(
        client.press(GROUP, card["message_id"], button_data(card, "Approve"), from_id=ALICE),
        client.press(GROUP, card["message_id"], button_data(card, "Approve"), from_id=BOB),
    )
    approved = await next_matching(client, GROUP, card["message_id"], lambda m: "approved by" in body(m))
    winner = "Alice" if "Alice" in body(approved) else "Bob"
    loser_answers = []
    for _ in range(100):
        loser_answers = [a for a in await client.callback_answers() if "got there first" in (a["text"] or "")]
        if loser_answers:
            break
        await asyncio.sleep(0.05)
    assert len(loser_answers) == 1 and winner in loser_answers[0]["text"]
    async with harness.running.services.db.transaction() as session:
        [ticket] = await all_tickets(session)
    assert ticket.status == "refund_pending"


async def test_an_outsider_or_a_forged_press_changes_nothing(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    await client.press(GROUP, card["message_id"], button_data(card, "Approve"), from_id=MALLORY)
    await client.press(GROUP, card["message_id"], f"sd:{reference}:approve", from_id=MALLORY, forge=True)
    await client.press(GROUP, card["message_id"], "sd:RF-NOPE0000:approve", from_id=ALICE, forge=True)
    await client.press(GROUP, card["message_id"], f"sd:{reference}:delete", from_id=ALICE, forge=True)
    answers = []
    for _ in range(100):  # the payer's Submit is answered too, maybe only now: the four are waited for
        answers = [a["text"] or "" for a in await client.callback_answers()]
        if sum("may not act" in a or "no longer does anything" in a for a in answers) >= 4:
            break
        await asyncio.sleep(0.05)
    assert sum("may not act" in a for a in answers) == 2
    assert sum("no longer does anything" in a for a in answers) == 2
    assert await ticket_status(harness, reference) == "verified"


async def test_reject_with_a_reason_the_payer_receives(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    await client.press(GROUP, card["message_id"], button_data(card, "Reject"), from_id=BOB)
    prompt = await next_matching(client, GROUP, card["message_id"], lambda m: "send the reason" in body(m))
    before = await payer.last_message_id()
    await in_thread(client, card, "Internal: looks like a test order", ALICE)
    await in_thread(client, card, "The second charge was a separate order (A2).", BOB)
    preview = await send_preview(client, prompt["message_id"], "separate order (A2)", BOB)
    assert "Internal" not in body(preview) and "complain" in body(preview)
    rejected = await next_matching(client, payer.id, before, lambda m: "rejected" in m.get("text", ""))
    assert "The second charge was a separate order (A2)." in rejected["text"]
    assert "complain" in rejected["text"] and "Internal" not in rejected["text"]
    assert "Internal" not in " ".join(await payer.bot_texts())
    assert await ticket_status(harness, reference) == "rejected"
    assert "Bob" in prompt["text"]


async def test_ask_relays_the_question_and_the_answers(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    await client.press(GROUP, card["message_id"], button_data(card, "Ask"), from_id=ALICE)
    await next_matching(client, GROUP, card["message_id"], lambda m: "send your question" in body(m))
    thread = card.get("message_thread_id")
    before = await payer.last_message_id()
    await in_thread(client, card, "Which card did you pay with?", ALICE)
    await send_preview(client, card["message_id"], "Which card did you pay with?", ALICE)
    question = await next_matching(client, payer.id, before, lambda m: "support asks" in m.get("text", ""))
    assert "Which card did you pay with?" in question["text"]
    assert await ticket_status(harness, reference) == "needs_info"
    group_before = await last_id(client, GROUP)
    thanks = await payer.ask("The Visa ending 4242")
    assert "passed to support" in thanks["text"]
    relayed = await next_matching(client, GROUP, group_before, lambda m: "The Visa ending 4242" in body(m))
    assert reference in body(relayed)
    if thread:
        assert relayed.get("message_thread_id") == thread
    else:
        assert relayed.get("reply_to_message", {}).get("message_id") == card["message_id"]
    assert await ticket_status(harness, reference) == "needs_review"
    # a second question, answered with a photo
    await client.press(GROUP, card["message_id"], button_data(card, "Ask"), from_id=ALICE)
    group_before = await last_id(client, GROUP)
    await in_thread(client, card, "A screenshot of the bank statement, please", ALICE)
    await send_preview(client, group_before, "bank statement", ALICE)
    await next_matching(client, payer.id, before, lambda m: "bank statement" in m.get("text", ""))
    group_before = await last_id(client, GROUP)
    [received] = await payer.photo(image_bytes("JPEG", (60, 30)))
    assert "passed to support" in received["text"]
    photo = await next_matching(client, GROUP, group_before, lambda m: bool(m.get("photo")))
    assert "sent a photo" in body(photo)


@pytest.mark.parametrize("desk", [True], ids=["topics"], indirect=True)
@pytest.mark.transcript_skips_chats(GROUP, reason="the sync re-creates the topic as 'refund approved' or "
                                                  "'refund on its way', whichever it sees first (see below)")
async def test_a_deleted_topic_is_recreated(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    await outbox_drained(harness)  # nothing else of this ticket is on its way to the topic being deleted
    async with Bot(TOKEN, session=sandbox_session(harness.sandbox_url)) as bot:
        await bot.delete_forum_topic(GROUP, card["message_thread_id"])  # an admin deletes the topic
    before = await last_id(client, GROUP)
    services = harness.running.services
    # The ticket moves on (e.g. approved from the command line).
    await approve_and_send(services.db, services.refund_policy(), lambda: NOW, reference=reference,
                           actor=f"agent:{ALICE}")
    reposted = await next_matching(client, GROUP, before, card_like)
    assert reposted["message_thread_id"] != card["message_thread_id"]
    # The sync may catch the ticket approved (its refund recorded, the provider not yet answered) and
    # re-post the card then; the provider's answer then edits it in place.
    if "refund on its way" not in body(reposted):
        await edit_showing(client, reposted, "refund on its way")
    created = [c["params"]["name"] for c in await client.calls("createForumTopic")]
    assert created[0] == f"{reference} · duplicate confirmed" and len(created) == 2
    assert created[1] in (f"{reference} · refund approved", f"{reference} · refund on its way")


async def test_sla_pings_once_then_again_with_every_agent(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    before = card["message_id"]
    harness.clock.now = NOW + timedelta(hours=4, minutes=1)
    first = await next_matching(client, GROUP, before, lambda m: "⏰" in body(m))
    assert reference in body(first) and "SLA 4h 0m" in body(first)
    harness.clock.now = NOW + timedelta(hours=8, minutes=1)
    second = await next_matching(client, GROUP, first["message_id"], lambda m: "⏰⏰" in body(m))
    mentioned = {e.get("user", {}).get("id") or e.get("url") for e in second.get("entities", [])}
    assert f"tg://user?id={ALICE}" in str(mentioned) and f"tg://user?id={BOB}" in str(mentioned)
    harness.clock.now = NOW + timedelta(hours=20)
    after = await payer.ask("/status")  # something else happens; no third ping appears
    texts = [body(m) for m in await client.messages(GROUP)]
    assert sum("⏰" in t for t in texts) == 2 and after


async def test_queue_ticket_stats_and_export(harness, payer, client, desk):
    card, reference = await file_and_get_card(payer, client)
    thread = card.get("message_thread_id")

    async def command(text: str, predicate) -> dict:
        sent = await client.send_text(GROUP, text, from_id=ALICE, message_thread_id=thread)
        return await next_matching(client, GROUP, sent["message"]["message_id"], predicate)

    queue = await command("/queue", lambda m: "Open tickets" in body(m))
    assert reference in body(queue) and "SLA ok" in body(queue)
    detail = await command(f"/ticket {reference.lower()}", lambda m: "Audit trail" in body(m))
    assert "None → verified" not in body(detail) and f"payer:{payer.id}: — → verified" in body(detail)
    stats = await command("/stats 7", lambda m: bool(m.get("photo")))
    async with Bot(TOKEN, session=sandbox_session(harness.sandbox_url)) as bot:
        png = (await bot.download(stats["photo"][-1]["file_id"])).read()
        export = await command("/export 30", lambda m: bool(m.get("document")))
        data = (await bot.download(export["document"]["file_id"])).read()
    with Image.open(io.BytesIO(png)) as chart:
        assert chart.format == "PNG" and chart.size == (900, 500)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {row["reference"] for row in rows} == {reference}
    assert [row["to_status"] for row in rows] == ["verified"]
    assert export["document"]["file_name"].endswith("30d.csv")
    outsider = await client.send_text(GROUP, "/queue", from_id=MALLORY, message_thread_id=thread)
    refusal = await next_matching(client, GROUP, outsider["message"]["message_id"], lambda m: True)
    assert "may not act" in body(refusal)
