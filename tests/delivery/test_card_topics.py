"""One forum topic and one card per ticket, however many instances race for its card or retry it."""

import asyncio

import pytest

from handlers.support.cards import CardPublisher
from storage.evidence_files import EvidenceFiles
from storage.models import SupportCard
from storage.outbox import messages_to
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox
from tests.conftest import make_sqlite
from tests.delivery.conftest import TOKEN, messenger
from tests.money.conftest import SUPPORT_CHAT, make_world

CARD_CALLS = ("sendPhoto", "sendMessage")


@pytest.fixture(params=["postgresql", "sqlite"])
async def pair(request, instances, tmp_path):
    """Two instances on PostgreSQL; on SQLite, one database (one process: the retry path only)."""
    if request.param == "postgresql":
        yield instances[:2]
        return
    database = await make_sqlite(tmp_path)
    yield [database, database]
    await database.dispose()


@pytest.fixture
async def forum(pair, tmp_path):
    """A ticket waiting for its card, a forum support group, and a card publisher per instance."""
    instances = pair
    world = make_world(instances[0], tmp_path, auto_limit=None)
    ticket = await world.reported_duplicate(7)
    renderer = world.support.renderer
    renderer.support.topics = True
    async with world.db.transaction() as session:
        [card_message] = [m for m in await messages_to(session, chat_id=SUPPORT_CHAT) if m.action == "card"]
    async with TelegramSandbox(token=TOKEN) as sandbox, SandboxClient(sandbox.url) as client, \
            messenger(sandbox) as first, messenger(sandbox) as second:
        await client.create_group(SUPPORT_CHAT, "Support", is_forum=True)
        publishers = [
            CardPublisher(db, renderer, EvidenceFiles(tmp_path / "evidence"), sent_by, world.clock)
            for db, sent_by in zip(instances, (first, second), strict=False)
        ]
        yield ticket, card_message, publishers, client


async def posted(client: SandboxClient) -> tuple[list[dict], list[dict]]:
    """Accepted createForumTopic calls and card posts into the support group."""
    topics = [c for c in await client.calls("createForumTopic") if c["status"] == 200]
    cards = [c for method in CARD_CALLS for c in await client.calls(method)
             if c["status"] == 200 and str(c["params"]["chat_id"]) == str(SUPPORT_CHAT)]
    return topics, cards


async def stored_card(db, ticket_id: int) -> SupportCard:
    async with db.transaction() as session:
        card = await session.get(SupportCard, ticket_id)
    assert card is not None
    return card


@pytest.mark.parametrize("pair", ["postgresql"], indirect=True)
async def test_two_instances_racing_for_a_card_open_one_topic(forum, pair):
    ticket, card_message, publishers, client = forum
    await asyncio.gather(*(publisher.deliver(card_message) for publisher in publishers))
    topics, cards = await posted(client)
    assert len(topics) == 1 and len(cards) == 1
    card = await stored_card(pair[0], ticket.id)
    assert card.thread_id is not None and card.message_id is not None
    assert str(cards[0]["params"]["message_thread_id"]) == str(card.thread_id)


async def test_a_card_retried_after_a_failed_post_goes_into_the_topic_already_open(forum, pair):
    ticket, card_message, publishers, client = forum
    await client.inject_fault("sendPhoto", error_code=500, count=1)
    with pytest.raises(Exception):  # noqa: B017 - the outbox retries whatever it is
        await publishers[0].deliver(card_message)
    half_done = await stored_card(pair[0], ticket.id)
    assert half_done.thread_id is not None and half_done.message_id is None
    await publishers[1].deliver(card_message)  # the retry, on another instance
    topics, cards = await posted(client)
    assert len(topics) == 1 and len(cards) == 1
    card = await stored_card(pair[0], ticket.id)
    assert card.thread_id == half_done.thread_id and card.message_id is not None
