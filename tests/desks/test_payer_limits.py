"""Per-payer limits: a few open tickets at a time, a few reports a day, checked at start and at submit."""

import io
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from handlers.events import Attachment, Event, EventKind, Person, Reply
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import Conversation, Ticket
from storage.outbox import messages_to
from storage.tickets import add_ticket, tickets_of_user
from tests.conftest import make_sqlite
from tests.doubles import Clock
from tests.lifecycle.conftest import make_policy

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPPORT_CHAT = -100777  # the support group of make_policy()
PAYER = Person(1001, first_name="Ann", language_code="en")
TEXTS = Texts.load()


class Screenshots:
    """The FileDownloader port: every file id is a small PNG of its own colour."""

    async def download(self, file_id: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (20, 30), (int(file_id) % 256, 40, 40)).save(buffer, format="PNG")
        return buffer.getvalue()


class Payer:
    """Drives the payer desk with events, as a runtime would."""

    def __init__(self, desk: PayerDesk, person: Person = PAYER):
        self.desk, self.person = desk, person
        self.update_ids = itertools.count(1)
        self.last: list[Reply] = []

    async def send(self, kind: EventKind, **fields) -> list[Reply]:
        update_id = next(self.update_ids)
        event = Event(update_id=update_id, person=self.person, chat_id=self.person.id, kind=kind,
                      message_id=update_id, **fields)
        outputs = await self.desk.handle(event)
        self.last = [o for o in outputs if isinstance(o, Reply)] or self.last
        return [o for o in outputs if isinstance(o, Reply)]

    async def command(self, name: str) -> list[Reply]:
        return await self.send(EventKind.COMMAND, command=name, text=f"/{name}")

    async def text(self, text: str) -> list[Reply]:
        return await self.send(EventKind.TEXT, text=text)

    async def photo(self, file_id: str) -> list[Reply]:
        return await self.send(EventKind.PHOTO, attachment=Attachment(file_id=file_id, file_size=500))

    async def press(self, action: str) -> list[Reply]:
        """Tap the button of the last answer whose data has this action (e.g. no_order, submit)."""
        data = next(b.data for reply in self.last for row in reply.buttons for b in row
                    if b.data.split(":")[2:3] == [action])
        return await self.send(EventKind.BUTTON, button_data=data)

    async def fill_in_report(self, number: int) -> list[Reply]:
        """/report and every answer up to the review (no order number: a person must look)."""
        await self.command("report")
        await self.press("no_order")
        await self.text("99")
        await self.press("day")
        return await self.photo(str(number))

    async def file_report(self, number: int) -> list[Reply]:
        await self.fill_in_report(number)
        return await self.press("submit")


def make_desk(db, tmp_path, clock: Clock, **limits) -> PayerDesk:
    rules = IntakeRules(default_currency="CNY", zone=SHANGHAI, **limits)
    return PayerDesk(db, TEXTS, rules, EvidenceFiles(tmp_path / "evidence"), Screenshots(), clock, "en",
                     make_policy())


@pytest.fixture
async def db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


async def cards_in_outbox(db) -> int:
    async with db.transaction() as session:
        return sum(1 for m in await messages_to(session, chat_id=SUPPORT_CHAT) if m.action == "card")


async def filed_tickets(db) -> list[Ticket]:
    async with db.transaction() as session:
        return await tickets_of_user(session, user_id=PAYER.id)


async def step_of(db) -> str | None:
    async with db.transaction() as session:
        return (await session.get(Conversation, PAYER.id)).step


async def test_open_tickets_are_capped_and_so_are_the_cards_in_the_support_group(db, tmp_path):
    clock = Clock(NOW)
    payer = Payer(make_desk(db, tmp_path, clock, max_open_tickets=3, max_reports_per_day=5))
    for number in range(3):
        [*_, filed] = await payer.file_report(number)
        assert "RF-" in filed.text
        clock.now += timedelta(minutes=5)
    [refused] = await payer.command("report")
    assert refused.text == TEXTS.get("en", "limit.open_tickets", limit=3)
    assert "3 open reports" in refused.text and "/status" in refused.text
    assert await step_of(db) is None  # still at the menu, no report begun
    assert len(await filed_tickets(db)) == 3
    assert await cards_in_outbox(db) == 3


async def test_reports_per_day_are_capped_until_the_oldest_leaves_the_24_hours(db, tmp_path):
    clock = Clock(NOW)
    payer = Payer(make_desk(db, tmp_path, clock, max_open_tickets=10, max_reports_per_day=2))
    await payer.file_report(1)
    clock.now = NOW + timedelta(hours=3, seconds=20)
    await payer.file_report(2)
    clock.now = NOW + timedelta(hours=23)
    [refused] = await payer.command("report")
    # 10:00 Shanghai tomorrow is when the first of the two reports is 24 hours old
    again = "Nov 27, 2026 10:00\u202fAM"
    assert refused.text == TEXTS.get("en", "limit.reports_per_day", limit=2, again=again)
    assert await step_of(db) is None
    assert await cards_in_outbox(db) == 2
    clock.now = NOW + timedelta(hours=24)
    [*_, filed] = await payer.file_report(3)
    assert "RF-" in filed.text
    assert await cards_in_outbox(db) == 3


async def test_the_refusal_speaks_the_payers_language(db, tmp_path):
    clock = Clock(NOW)
    payer = Payer(make_desk(db, tmp_path, clock, max_open_tickets=1), Person(1001, "安", language_code="zh"))
    await payer.file_report(1)
    [refused] = await payer.command("report")
    assert refused.text == TEXTS.get("zh", "limit.open_tickets", limit=1)
    assert "1 份正在处理的报告" in refused.text


async def test_submit_checks_again_and_the_report_stays_at_the_review(db, tmp_path):
    clock = Clock(NOW)
    payer = Payer(make_desk(db, tmp_path, clock, max_open_tickets=1))
    await payer.fill_in_report(1)
    assert await step_of(db) == "review"
    # Meanwhile another ticket of theirs opened (e.g. a refunded one reopened with "not yet").
    async with db.transaction() as session:
        other = Ticket(reference="RF-OTHER234", user_id=PAYER.id, chat_id=PAYER.id, locale="en",
                       amount_minor=500, currency="CNY", paid_at=NOW, status="needs_review",
                       report_key="other", created_at=NOW, updated_at=NOW)
        await add_ticket(session, ticket=other, matches=[], actor="test", now=NOW)
    [refused] = await payer.press("submit")
    assert refused.text.startswith("⚠️ " + TEXTS.get("en", "limit.open_tickets", limit=1))
    assert any(b.data.endswith(":submit") for row in refused.buttons for b in row)  # the review again
    assert await step_of(db) == "review"
    assert [t.reference for t in await filed_tickets(db)] == ["RF-OTHER234"]
    assert await cards_in_outbox(db) == 0
    # /report in the middle: the refusal, then the question where they were
    refusal, question = await payer.command("report")
    assert refusal.text == TEXTS.get("en", "limit.open_tickets", limit=1)
    assert question.text.startswith(TEXTS.get("en", "report.still_open"))
    assert await step_of(db) == "review"
