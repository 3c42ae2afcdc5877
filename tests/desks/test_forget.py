"""/forget: after a confirmation the payer's data is deleted; tickets and refunds stay, pointing at nobody."""

import io
import zlib

import pytest
from PIL import Image
from sqlmodel import select

from handlers.buttons import ForgetButton, ForgetChoice
from handlers.events import Attachment, EventKind, Reply, Toast
from storage.forgetting import NOBODY
from storage.models import (
    Conversation,
    Evidence,
    OutboxMessage,
    PayerLink,
    Refund,
    Ticket,
    TicketAudit,
    TicketStatus,
    User,
)
from storage.outbox import enqueue
from storage.payer_links import link_payers
from tests.money.conftest import NOW, PAID_TWICE, World, make_world, outputs_text

ANN = 1001


class DistinctScreenshots:
    """The FileDownloader port: each file id is its own small PNG."""

    async def download(self, file_id: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (40, 60), (zlib.crc32(file_id.encode()) % 256, 30, 30)).save(buffer, format="PNG")
        return buffer.getvalue()


@pytest.fixture
def world(db, tmp_path) -> World:
    """Every ticket goes to a person, so a filed ticket stays open (verified) until an agent acts."""
    made = make_world(db, tmp_path, auto_limit=None)
    made.payers.files = DistinctScreenshots()
    return made


@pytest.fixture
def auto_world(db, tmp_path) -> World:
    """Refunds up to ¥500 are approved and requested at once."""
    return make_world(db, tmp_path)


async def rows(world: World, model, *where) -> list:
    async with world.db.transaction() as session:
        return list((await session.exec(select(model).where(*where))).all())


def buttons(outputs) -> dict[str, str]:
    return {b.label: b.data for o in outputs if isinstance(o, Reply) for row in o.buttons for b in row}


async def ann_with_everything(world: World) -> tuple[Ticket, str, str]:
    """Ann: a filed ticket with a screenshot, a second report at its review with another, tips on, a link to
    her payer id and a message waiting for her. Returns the ticket and the two screenshots' hashes."""
    await world.say(ANN, "/tips on")
    [ticket] = [await world.reported_duplicate(ANN)]
    await world.say(ANN, "/report")
    for answer in ("B2", "99.00", "2026-11-26 09:30"):
        await world.say(ANN, answer)
    await world.payers.handle(world._event(ANN, EventKind.PHOTO, attachment=Attachment("photo-2", 2000)))
    [conversation] = await rows(world, Conversation, Conversation.user_id == ANN)
    assert ticket.evidence_sha256 and conversation.evidence_sha256
    assert ticket.evidence_sha256 != conversation.evidence_sha256
    async with world.db.transaction() as session:
        await link_payers(session, links=[("openid-ann", ANN)], source="deep_link", now=NOW)
        await enqueue(session, dedupe_key="waiting", chat_id=ANN, text="hello", not_before=NOW)
    return ticket, ticket.evidence_sha256, conversation.evidence_sha256


async def test_confirmed_forget_deletes_the_person_and_keeps_the_books_without_them(world):
    ticket, filed, unfiled = await ann_with_everything(world)
    asked = await world.say(ANN, "/forget")
    assert "Delete your data?" in outputs_text(asked)
    assert f"open tickets {ticket.reference} will be cancelled" in outputs_text(asked)

    done = await world.press(ANN, buttons(asked)["Delete my data"])
    assert "your data is deleted" in outputs_text(done) and ticket.reference in outputs_text(done)

    assert await rows(world, User, User.id == ANN) == []
    assert await rows(world, Conversation, Conversation.user_id == ANN) == []
    assert await rows(world, PayerLink, PayerLink.telegram_user_id == ANN) == []
    assert await rows(world, OutboxMessage, OutboxMessage.chat_id == ANN) == []
    [kept] = await rows(world, Ticket, Ticket.id == ticket.id)
    assert (kept.user_id, kept.chat_id, kept.status) == (NOBODY, NOBODY, TicketStatus.CANCELLED)
    assert (kept.reference, kept.amount_minor, kept.order_id) == (ticket.reference, 9900, "A1")
    actors = {a.actor for a in await rows(world, TicketAudit, TicketAudit.ticket_id == ticket.id)}
    assert f"payer:{ANN}" not in actors and "payer:forgotten" in actors
    [on_ticket] = await rows(world, Evidence, Evidence.sha256 == filed)
    assert on_ticket.uploaded_by is None and world.payers.evidence.path_of(filed).exists()
    assert await rows(world, Evidence, Evidence.sha256 == unfiled) == []
    assert not world.payers.evidence.path_of(unfiled).exists()


async def test_a_forgotten_payer_who_writes_again_starts_fresh(world):
    ticket, _, _ = await ann_with_everything(world)
    await world.press(ANN, buttons(await world.say(ANN, "/forget"))["Delete my data"])
    welcome = await world.say(ANN, "/start")
    assert "payment-safety tips" in outputs_text(welcome)  # asked again: nothing was remembered
    assert ticket.reference not in outputs_text(await world.say(ANN, "/status"))
    [ann] = await rows(world, User, User.id == ANN)
    assert (ann.tips, ann.locale_chosen) == (None, False)


async def test_keep_changes_nothing_and_voids_the_confirmation(world):
    ticket, _, _ = await ann_with_everything(world)
    asked = await world.say(ANN, "/forget")
    assert "Nothing was deleted" in outputs_text(await world.press(ANN, buttons(asked)["Keep my data"]))
    late = await world.press(ANN, buttons(asked)["Delete my data"])
    assert [type(o) for o in late] == [Toast]
    [ann] = await rows(world, User, User.id == ANN)
    assert (ann.first_name, ann.tips) == (f"user{ANN}", True)
    [same] = await rows(world, Ticket, Ticket.id == ticket.id)
    assert (same.user_id, same.status) == (ANN, TicketStatus.VERIFIED)
    assert len(await rows(world, Evidence, Evidence.uploaded_by == ANN)) == 2
    assert await rows(world, PayerLink, PayerLink.telegram_user_id == ANN) != []


async def test_an_old_confirmation_cannot_act_after_a_newer_request(world):
    await world.say(ANN, "/tips on")
    old = buttons(await world.say(ANN, "/forget"))["Delete my data"]
    new = buttons(await world.say(ANN, "/forget"))["Delete my data"]
    assert old != new
    assert [type(o) for o in await world.press(ANN, old)] == [Toast]
    assert len(await rows(world, User, User.id == ANN)) == 1
    assert "your data is deleted" in outputs_text(await world.press(ANN, new))
    assert await rows(world, User, User.id == ANN) == []


@pytest.mark.parametrize("data", [
    ForgetButton("0123abcd", ForgetChoice.CONFIRM).pack(), "forget:0123abcd", "forget:XYZ:confirm",
    "forget:0123abcd:confirm:x", "forget:0123abcd:delete",
])
async def test_a_forged_forget_button_does_nothing(world, data):
    await world.say(ANN, "/tips on")
    await world.say(ANN, "/forget")
    answer = await world.press(ANN, data)
    assert [type(o) for o in answer] == [Toast] and "no longer does anything" in answer[0].text
    assert len(await rows(world, User, User.id == ANN)) == 1


async def test_forget_is_refused_while_a_refund_is_under_way(auto_world):
    world = auto_world
    await world.records(*PAID_TWICE)
    await world.report(ANN)
    [ticket] = await world.tickets()
    assert ticket.status == TicketStatus.REFUND_PENDING
    answer = await world.say(ANN, "/forget")
    assert "refund is under way" in outputs_text(answer) and ticket.reference in outputs_text(answer)
    assert buttons(answer) == {}
    assert len(await rows(world, User, User.id == ANN)) == 1
    assert (await world.tickets())[0].user_id == ANN


async def test_a_refund_approved_after_the_question_makes_the_confirmation_refuse(world):
    ticket = await world.reported_duplicate(ANN)
    confirm = buttons(await world.say(ANN, "/forget"))["Delete my data"]
    await world.record_request_unsent(ticket)  # an agent approves; the refund is recorded
    answer = await world.press(ANN, confirm)
    assert "refund is under way" in outputs_text(answer)
    [same] = await world.tickets()
    assert (same.user_id, same.status) == (ANN, TicketStatus.APPROVED)
    assert len(await rows(world, User, User.id == ANN)) == 1


async def test_a_landed_refund_stays_in_the_books_after_forget(auto_world):
    world = auto_world
    world.merchant.script.append("succeeded")
    await world.records(*PAID_TWICE)
    await world.report(ANN)
    [ticket] = await world.tickets()
    assert ticket.status == TicketStatus.REFUNDED
    await world.press(ANN, buttons(await world.say(ANN, "/forget"))["Delete my data"])
    [kept] = await world.tickets()
    assert (kept.user_id, kept.status) == (NOBODY, TicketStatus.REFUNDED)
    [refund] = await rows(world, Refund, Refund.ticket_id == ticket.id)
    assert (refund.transaction_id, refund.amount_minor) == ("tx2", 9900)
