"""Fuzzing each step of the report at the desk layer (Hypothesis).

Whatever arrives at a step (any text: unicode, control characters, 100 KB; a photo or a document with any
bytes; a sticker or another kind of message; any button data, forged or stale), the bot answers, never with
"something went wrong", and when it refuses the input the stored report is exactly as it was.

Each example first puts the stored report back where the step starts, so one database serves all the
examples of a step (hence the function-scoped fixture health check is suppressed on purpose).
FUZZ_EXAMPLES sets the examples per step (default 400: about 2,000 in all, well under 20 s here).
"""

import io
import itertools
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from handlers.events import Attachment, Event, EventKind, Person, Reply, Toast
from handlers.money import KNOWN_CURRENCIES, Money
from handlers.parsing import MAX_AMOUNT, ORDER_MAX_LENGTH, ORDER_PATTERN
from handlers.payer.desk import PayerDesk
from handlers.payer.intake import Input, Step
from handlers.payer.turn import IntakeRules
from handlers.ports import FileUnavailable
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import Conversation
from tests.conftest import make_sqlite
from tests.rules.test_typed_inputs import AMOUNTS_EN, AMOUNTS_ZH, ORDERS, TIMES_EN, TIMES_ZH

EXAMPLES_PER_STEP = int(os.environ.get("FUZZ_EXAMPLES", "400"))
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
WINDOW_DAYS = 180
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAYER = Person(4242, first_name="Fuzz", language_code="en")
TEXTS = Texts.load()
INTERNAL_ERRORS = {TEXTS.get(locale, "error.internal") for locale in ("en", "zh")}
REPORT_FIELDS = [c.name for c in Conversation.__table__.columns if c.name != "updated_at"]
KEY = "\x00report-key\x00"  # replaced by the real report key when an event is sent


def _image(kind: str, size=(16, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format=kind)
    return buffer.getvalue()


IMAGES = [_image(kind) for kind in ("PNG", "JPEG", "WEBP", "GIF", "BMP")]
PNG = IMAGES[0]

# Pieces of what payers type at these steps, so that random texts also reach deep into the readers.
VOCABULARY = [
    "99", "99.00", "九十九", "块", "五", "元", "毛", "分", "整", "$", "¥", "￥", "USD", "RMB", "1,299.50",
    "-", "0", "1e5", "nan", "万", "点", "半", "一刻", "yesterday", "昨晚", "8点半", "2 hours ago", "14:30",
    "2026-11-25",
    "25/11", "11/25/2026", "tomorrow", "明天", "下午", "pm", "am", "ago", "前", "前天", "刚才", "last night",
    "at", "Nov", "25th", "号", "周三", "上周", "UTC", "+08:00", "A1", "#", "订单号", "ORD-1", "order no.",
    "\u200b", "\u202e", "\x00", "\x1b[31m", "\ud800", "\udfff",
    "🙂", "ｕｓｄ", "９９", "兩點", "壹佰", "十十", "一十零", "13/13",
]
# Inputs each field accepts, from the tables of typed inputs, so that accepted paths are fuzzed too.
TYPED = [row[0] for table in (AMOUNTS_EN, AMOUNTS_ZH, TIMES_EN, TIMES_ZH, ORDERS) for row in table]
texts = st.one_of(
    st.text(max_size=120),
    st.sampled_from(TYPED),
    st.tuples(st.sampled_from(TYPED), st.text(max_size=3)).map("".join),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=40),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=12), st.integers(40, 9_000)),
    st.lists(st.sampled_from(VOCABULARY), max_size=8).map(" ".join),
    st.lists(st.sampled_from(VOCABULARY), max_size=8).map("".join),
)
downloads = st.one_of(
    st.binary(max_size=2_000),
    st.sampled_from(IMAGES),
    st.sampled_from(IMAGES).flatmap(lambda image: st.binary(max_size=64).map(lambda tail: image + tail)),
    st.sampled_from(IMAGES).flatmap(lambda image: st.integers(1, len(image) - 1).map(lambda n: image[:n])),
    st.just(FileUnavailable("expired")),
)
attachments = st.builds(
    Attachment,
    file_id=st.text(min_size=1, max_size=80),
    file_size=st.one_of(st.none(), st.integers(-1, 2**40)),
    mime_type=st.one_of(
        st.none(), st.sampled_from(["image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf"]),
        st.text(max_size=30),
    ),
    file_name=st.one_of(st.none(), st.text(max_size=40)),
)
button_data = st.one_of(
    st.text(max_size=100),
    st.builds(  # this report's own buttons, with any argument
        lambda action, argument: f"in:{KEY}:{action}:{argument}".rstrip(":"),
        st.sampled_from([i.value for i in Input]),
        st.one_of(st.sampled_from(["", *[s.value for s in Step], "today", "yesterday"]), st.text(max_size=8)),
    ),
    st.builds(
        lambda *parts: ":".join(parts),
        st.sampled_from(["in", "tk", "menu", "help", "lang", "x"]),
        st.one_of(st.just(KEY), st.sampled_from(["-", "", "deadbeef"]), st.text(max_size=10)),
        st.one_of(st.sampled_from([i.value for i in Input]), st.text(max_size=10)),
        st.one_of(st.sampled_from(["", *[s.value for s in Step], "today", "yesterday", "zh", "en"]),
                  st.text(max_size=20)),
    ),
)
# (kind, fields, bytes the downloader returns)
events = st.one_of(
    st.tuples(st.just(EventKind.TEXT), st.fixed_dictionaries({"text": texts}), st.none()),
    st.tuples(
        st.sampled_from([EventKind.PHOTO, EventKind.DOCUMENT]),
        st.fixed_dictionaries({"attachment": attachments,
                               "media_group_id": st.one_of(st.none(), st.text(min_size=1, max_size=20))}),
        downloads,
    ),
    st.tuples(
        st.just(EventKind.OTHER),
        st.fixed_dictionaries({"other_kind": st.one_of(
            st.sampled_from(["sticker", "voice", "video", "location", "animation", "contact", "poll"]),
            st.text(max_size=20))}),
        st.none(),
    ),
    st.tuples(st.just(EventKind.BUTTON), st.fixed_dictionaries({"button_data": button_data}), st.none()),
)


class Downloads:
    """The FileDownloader port: hands out whatever the example chose."""

    def __init__(self) -> None:
        self.next: bytes | Exception = PNG

    async def download(self, file_id: str) -> bytes:
        if isinstance(self.next, Exception):
            raise self.next
        return self.next


class Bench:
    """One payer and the desk, with the report put back at a chosen step before every example."""

    def __init__(self, desk: PayerDesk, downloads: Downloads, evidence: Path, person: Person = PAYER):
        self.desk, self.downloads, self.evidence, self.person = desk, downloads, evidence, person
        self.update_ids = itertools.count(1)
        self.start: dict = {}

    async def send(self, kind: EventKind, downloaded=None, **fields) -> list:
        if downloaded is not None:
            self.downloads.next = downloaded
        if "button_data" in fields:
            fields["button_data"] = fields["button_data"].replace(KEY, self.start.get("report_key") or "-")
        update_id = next(self.update_ids)
        event = Event(update_id=update_id, person=self.person, chat_id=self.person.id, kind=kind,
                      message_id=update_id, **fields)
        return await self.desk.handle(event)

    async def report(self) -> dict:
        async with self.desk.db.transaction() as session:
            row = await session.get(Conversation, self.person.id)
            return {name: getattr(row, name) for name in REPORT_FIELDS}

    async def go_to(self, step: Step) -> None:
        """Answer every question before `step`, as a payer would, and remember the report there."""
        await self.send(EventKind.COMMAND, command="report", text="/report")
        answers = [(EventKind.TEXT, {"text": "A1"}), (EventKind.TEXT, {"text": "99"}),
                   (EventKind.TEXT, {"text": "today 10:00"}),
                   (EventKind.PHOTO, {"attachment": Attachment("seed", file_size=len(PNG))})]
        order = [Step.ORDER, Step.AMOUNT, Step.PAID_AT, Step.SCREENSHOT, Step.REVIEW]
        for kind, fields in answers[: order.index(step)]:
            await self.send(kind, PNG, **fields)
        self.start = await self.report()
        assert self.start["step"] == step.value

    async def put_back(self) -> None:
        async with self.desk.db.transaction() as session:
            row = await session.get(Conversation, self.person.id)
            for name, value in self.start.items():
                setattr(row, name, value)
            session.add(row)


async def open_bench(tmp_path: Path) -> Bench:
    """A payer desk on a fresh SQLite file, with a fake downloader; close its database with `close()`."""
    db = await make_sqlite(tmp_path)
    downloads = Downloads()
    evidence = tmp_path / "evidence"
    rules = IntakeRules(default_currency="CNY", zone=SHANGHAI, refund_window_days=WINDOW_DAYS)
    desk = PayerDesk(db=db, texts=TEXTS, rules=rules, evidence=EvidenceFiles(evidence), files=downloads,
                     clock=lambda: NOW, default_locale="en", policy=None)
    return Bench(desk, downloads, evidence)


@pytest.fixture
async def bench(tmp_path):
    opened = await open_bench(tmp_path)
    yield opened
    await opened.desk.db.dispose()


def check_accepted(step: Step, report: dict, bench: Bench) -> None:
    """What an accepted input stored is a value the rest of the bot can rely on."""
    match step:
        case Step.ORDER if not report["order_skipped"]:
            assert ORDER_PATTERN.fullmatch(report["order_id"]) and len(report["order_id"]) <= ORDER_MAX_LENGTH
        case Step.AMOUNT:
            assert report["currency"] in KNOWN_CURRENCIES
            assert 0 < Money.from_minor(report["amount_minor"], report["currency"]).amount <= MAX_AMOUNT
        case Step.PAID_AT:
            paid_at = report["paid_at"]
            assert paid_at.tzinfo is not None
            assert NOW - timedelta(days=WINDOW_DAYS) <= paid_at <= NOW + timedelta(minutes=5)
        case Step.SCREENSHOT:
            sha256 = report["evidence_sha256"]
            assert re.fullmatch(r"[0-9a-f]{64}", sha256)
            assert (bench.evidence / sha256[:2] / sha256).is_file()


async def fuzz_one(bench: Bench, step: Step, event) -> None:
    kind, fields, downloaded = event
    await bench.put_back()
    outputs = await bench.send(kind, downloaded, **fields)
    after = await bench.report()

    assert outputs, "the bot did not answer"
    replies = [o.text for o in outputs if isinstance(o, Reply)]
    assert not INTERNAL_ERRORS.intersection(replies), "the bot crashed"
    refused = any("⚠️" in text for text in replies) or all(isinstance(o, Toast) for o in outputs)
    if refused or after["step"] == bench.start["step"]:
        assert after == bench.start, "a refused input changed the stored report"
    elif after["step"] is not None and bench.start["step"] != Step.REVIEW:
        check_accepted(step, after, bench)


FUZZ = settings(
    max_examples=EXAMPLES_PER_STEP,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)


@FUZZ
@given(event=events)
async def test_order_step(bench, event):
    if not bench.start:
        await bench.go_to(Step.ORDER)
    await fuzz_one(bench, Step.ORDER, event)


@FUZZ
@given(event=events)
async def test_amount_step(bench, event):
    if not bench.start:
        await bench.go_to(Step.AMOUNT)
    await fuzz_one(bench, Step.AMOUNT, event)


@FUZZ
@given(event=events)
async def test_paid_at_step(bench, event):
    if not bench.start:
        await bench.go_to(Step.PAID_AT)
    await fuzz_one(bench, Step.PAID_AT, event)


@FUZZ
@given(event=events)
async def test_screenshot_step(bench, event):
    if not bench.start:
        await bench.go_to(Step.SCREENSHOT)
    await fuzz_one(bench, Step.SCREENSHOT, event)


@FUZZ
@given(event=events)
async def test_review_step(bench, event):
    if not bench.start:
        await bench.go_to(Step.REVIEW)
    await fuzz_one(bench, Step.REVIEW, event)
