"""A notice sent into a forum topic that was deleted: the topic and its card come back, the notice follows."""

from datetime import timedelta

import pytest

from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.ports import ThreadGone
from handlers.support.cards import CardPublisher
from storage.evidence_files import EvidenceFiles
from storage.models import SupportCard
from storage.outbox import messages_to
from tests.money.conftest import SUPPORT_CHAT, World, make_world


class ForumGroup:
    """The Messenger port for a forum supergroup whose topics an admin may delete."""

    def __init__(self) -> None:
        self.topics: list[int] = []
        self.deleted: set[int] = set()
        self.posts: list[tuple[int | None, str]] = []

    async def create_topic(self, chat_id: int, name: str) -> int:
        self.topics.append(100 + len(self.topics))
        return self.topics[-1]

    async def rename_topic(self, chat_id: int, thread_id: int, name: str) -> None:
        if thread_id in self.deleted:
            raise ThreadGone("message thread not found")

    async def send_card(self, chat_id, *, thread_id, photo, text, buttons) -> int:
        return await self._post(thread_id, text)

    async def edit_card(self, chat_id, message_id, *, with_photo, text, buttons) -> None:
        return None

    async def send(self, chat_id, text, buttons, *, thread_id=None, reply_to=None, parse_mode=None) -> None:
        await self._post(thread_id, text)

    async def _post(self, thread_id: int | None, text: str) -> int:
        if thread_id in self.deleted:
            raise ThreadGone("message thread not found")
        self.posts.append((thread_id, text))
        return len(self.posts)


@pytest.fixture
def world(db, tmp_path) -> World:
    """Every ticket goes to a person; on SQLite and on PostgreSQL."""
    return make_world(db, tmp_path, auto_limit=None)


async def test_a_notice_into_a_deleted_topic_recreates_it_and_then_arrives(world: World, tmp_path):
    ticket = await world.reported_duplicate(7)
    forum = ForumGroup()
    renderer = world.support.renderer
    renderer.support.topics = True
    cards = CardPublisher(world.db, renderer, EvidenceFiles(tmp_path / "evidence"), forum, world.clock)
    worker = DeliveryWorker(world.db, forum, world.clock, DeliveryPolicy(rate_per_second=1000,
                            per_chat_interval=0), cards=cards)
    await worker.drain()
    [first_topic] = forum.topics
    forum.deleted.add(first_topic)  # an admin deletes the ticket's topic
    async with world.db.transaction() as session:
        await world.support.policy.notifier.tell_support(
            session, ticket, "support.overdue", now=world.clock(), dedupe="overdue", amount="¥99.00",
            expected="today",
        )

    await worker.drain()  # the notice hits the deleted topic: the card is marked for re-posting
    async with world.db.transaction() as session:
        card = await session.get(SupportCard, ticket.id)
    assert card.shown_status is None
    await cards.sync()  # the sync opens a new topic with the card
    world.clock.now += timedelta(minutes=5)
    await worker.drain()  # and the notice, retried, lands in it

    second_topic = forum.topics[-1]
    assert second_topic != first_topic
    assert any(thread == second_topic and "overdue" in text for thread, text in forum.posts)
    async with world.db.transaction() as session:
        [notice] = [m for m in await messages_to(session, chat_id=SUPPORT_CHAT) if m.action == "send"]
    assert notice.status == "sent"
