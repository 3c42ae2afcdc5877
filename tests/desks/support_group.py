"""A support group and payers driven at the desk layer: real SQLite file, fake clock, outbox read back."""

import io
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.charts import PillowChartDrawer
from handlers.events import Attachment, ClearButtons, Event, EventKind, Output, Person, Reply, Toast
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.ports import ChartDrawer
from handlers.support.cards import CardRenderer, SupportSettings
from handlers.support.desk import SupportDesk
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import SupportCard, Ticket, User
from storage.outbox import messages_to
from storage.tickets import add_ticket, audit_of, ticket_by_reference
from tests.doubles import Clock

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
GROUP = -100777  # the support chat of tests.lifecycle.conftest.make_policy()
ALICE, BOB, MALLORY = Person(501, "Alice"), Person(502, "Bob"), Person(666, "Mallory")
TEXTS = Texts.load()
UPDATE_IDS = itertools.count(1)


class Screenshots:
    """The FileDownloader port: every file is a small PNG."""

    async def download(self, file_id: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (20, 30), (200, 40, 40)).save(buffer, format="PNG")
        return buffer.getvalue()


def support_desk(db, clock: Clock, policy, prompt_timeout: timedelta = timedelta(minutes=15), *,
                 locale: str = "en", charts: ChartDrawer | None = None) -> SupportDesk:
    settings = SupportSettings(chat_id=GROUP, agent_ids=frozenset({ALICE.id, BOB.id}), locale=locale,
                               prompt_timeout=prompt_timeout)
    return SupportDesk(db, CardRenderer(TEXTS, settings), policy, clock, charts or PillowChartDrawer())


def payer_desk(db, clock: Clock, policy, tmp_path) -> PayerDesk:
    return PayerDesk(db, TEXTS, IntakeRules(), EvidenceFiles(tmp_path / "evidence"), Screenshots(), clock,
                     "en", policy)


@dataclass(frozen=True)
class Filed:
    """A ticket with its card posted in the group (as a message the agents reply to)."""

    ticket_id: int
    reference: str
    card_message_id: int


async def file_ticket_with_card(db, *, user_id: int = 7, reference: str = "RF-TEST2345",
                                status: str = "verified", locale: str = "en", order: str = "A1-77123",
                                amount_minor: int = 12345, report_key: str | None = None,
                                card_message_id: int = 900) -> Filed:
    async with db.transaction() as session:
        if await session.get(User, user_id) is None:
            session.add(User(id=user_id, first_name="Ann", locale=locale, created_at=NOW))
        ticket = Ticket(reference=reference, user_id=user_id, chat_id=user_id, locale=locale, order_id=order,
                        amount_minor=amount_minor, currency="CNY", paid_at=NOW - timedelta(hours=3),
                        status=status, report_key=report_key or reference,
                        open_order_key=f"{user_id}:{order}", created_at=NOW, updated_at=NOW)
        await add_ticket(session, ticket=ticket, matches=[], actor=f"payer:{user_id}", now=NOW)
        session.add(SupportCard(ticket_id=ticket.id, chat_id=GROUP, message_id=card_message_id,
                                shown_status=status, touched_at=NOW, created_at=NOW))
        return Filed(ticket.id, reference, card_message_id)


def event(person: Person, chat_id: int, kind: EventKind, **fields) -> Event:
    update_id = next(UPDATE_IDS)
    return Event(update_id=update_id, person=person, chat_id=chat_id, kind=kind,
                 chat_type="private" if chat_id > 0 else "supergroup", **fields)


class Agent:
    """Someone in the support group: presses buttons and writes in tickets' threads (replies to cards)."""

    def __init__(self, desk: SupportDesk, person: Person):
        self.desk, self.person = desk, person

    async def press(self, data: str, message_id: int = 1) -> list[Output]:
        return await self.desk.handle(
            event(self.person, GROUP, EventKind.BUTTON, button_data=data, message_id=message_id)
        )

    async def write(self, filed: Filed, text: str) -> list[Output]:
        return await self.desk.handle(event(self.person, GROUP, EventKind.TEXT, text=text,
                                            message_id=next(UPDATE_IDS),
                                            reply_to_message_id=filed.card_message_id))

    async def photo(self, filed: Filed) -> list[Output]:
        return await self.desk.handle(event(self.person, GROUP, EventKind.PHOTO,
                                            attachment=Attachment("photo-1", 500),
                                            reply_to_message_id=filed.card_message_id))


def replies(outputs: list[Output]) -> list[Reply]:
    return [o for o in outputs if isinstance(o, Reply)]


def toasts(outputs: list[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Toast)]


def cleared(outputs: list[Output]) -> list[int]:
    return [o.message_id for o in outputs if isinstance(o, ClearButtons)]


def button(reply: Reply, label: str) -> str:
    """The data of the button whose label contains `label`."""
    return next(b.data for row in reply.buttons for b in row if label in b.label)


def said(outputs: list[Output]) -> str:
    """Everything the outputs show a person: texts, toasts, button labels and data."""
    parts = []
    for output in outputs:
        parts.append(getattr(output, "text", "") or getattr(output, "caption", ""))
        for row in getattr(output, "buttons", ()):
            parts.extend(f"{b.label} {b.data}" for b in row)
    return "\n".join(parts)


async def outbox_texts(db, chat_id: int) -> list[str]:
    async with db.transaction() as session:
        return [m.text for m in await messages_to(session, chat_id=chat_id) if m.action == "send"]


async def ticket_state(db, reference: str) -> tuple[str, int]:
    """The ticket's status and how many audit rows it has."""
    async with db.transaction() as session:
        ticket = await ticket_by_reference(session, reference=reference)
        return ticket.status, len(await audit_of(session, ticket_id=ticket.id))
