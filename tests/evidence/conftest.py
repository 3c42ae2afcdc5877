"""The payer desk driven with events, fake downloads, and the images the tests make byte by byte."""

import io
import itertools
import struct
import zlib
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlmodel import select

from handlers.events import Attachment, Event, EventKind, Person, Reply
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.ports import FileUnavailable
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import Conversation, Evidence, Ticket
from tests.doubles import Clock
from tests.evidence.stores import StoreUnderTest, s3_bucket, s3_endpoint  # noqa: F401 (fixtures)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PAYER = Person(1001, first_name="Ann", language_code="en")
TEXTS = Texts.load()


def image(kind: str = "PNG", size: tuple[int, int] = (40, 60), colour=(200, 30, 30), **options) -> bytes:
    """A small real image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 12000, height: int = 12000) -> bytes:
    """A PNG of a few dozen bytes whose header claims width × height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


class Downloads:
    """The FileDownloader port: the bytes of each file id, and every id asked for."""

    def __init__(self, files: dict[str, bytes] | None = None):
        self.files = dict(files or {})
        self.asked: list[str] = []

    async def download(self, file_id: str) -> bytes:
        self.asked.append(file_id)
        if file_id not in self.files:
            raise FileUnavailable("gone")
        return self.files[file_id]


class DeskPayer:
    """A payer talking to the desk, as a runtime would pass their updates on."""

    update_ids = itertools.count(1)

    def __init__(self, desk: PayerDesk, person: Person = PAYER):
        self.desk, self.person = desk, person
        self.last: list[Reply] = []

    async def send(self, kind: EventKind, **fields) -> list[Reply]:
        update_id = next(self.update_ids)
        event = Event(update_id=update_id, person=self.person, chat_id=self.person.id, kind=kind,
                      message_id=update_id, **fields)
        replies = [o for o in await self.desk.handle(event) if isinstance(o, Reply)]
        self.last = replies or self.last
        return replies

    async def command(self, name: str) -> list[Reply]:
        return await self.send(EventKind.COMMAND, command=name, text=f"/{name}")

    async def text(self, text: str) -> list[Reply]:
        return await self.send(EventKind.TEXT, text=text)

    async def photo(self, file_id: str, **fields) -> Reply:
        [reply] = await self.send(EventKind.PHOTO, attachment=Attachment(file_id=file_id, file_size=500),
                                  **fields)
        return reply

    async def document(self, file_id: str, mime_type: str = "image/png") -> Reply:
        attachment = Attachment(file_id=file_id, file_size=500, mime_type=mime_type, file_name="shot")
        [reply] = await self.send(EventKind.DOCUMENT, attachment=attachment)
        return reply

    async def press(self, action: str, argument: str = "") -> list[Reply]:
        """Tap a report button of the last answer (e.g. no_order, day:today, submit, cancel)."""
        data = next(b.data for reply in self.last for row in reply.buttons for b in row
                    if b.data.split(":")[2:] == ([action, argument] if argument else [action]))
        return await self.send(EventKind.BUTTON, button_data=data)

    async def reach_screenshot_step(self) -> None:
        await self.command("report")
        await self.press("no_order")
        await self.text("99")
        await self.press("day", "today")
        assert self.last[-1].text.endswith(TEXTS.get(self.locale, "ask.screenshot"))

    @property
    def locale(self) -> str:
        return "zh" if (self.person.language_code or "").startswith("zh") else "en"

    def says(self, key: str, **params) -> str:
        return TEXTS.get(self.locale, key, **params)


def make_desk(db, tmp_path, files, clock=None, policy=None, evidence=None, **rules) -> PayerDesk:
    return PayerDesk(db, TEXTS, IntakeRules(**rules), evidence or EvidenceFiles(tmp_path / "evidence"), files,
                     clock or Clock(NOW), "en", policy)


async def step_of(db, user_id: int = PAYER.id) -> str | None:
    async with db.transaction() as session:
        conversation = await session.get(Conversation, user_id)
        return conversation.step if conversation else None


async def evidence_rows(db) -> list[Evidence]:
    async with db.transaction() as session:
        return list((await session.exec(select(Evidence))).all())


def stored_files(tmp_path) -> list[str]:
    root = tmp_path / "evidence"
    return sorted(p.name for p in root.glob("*/*")) if root.exists() else []


async def file_ticket(db, sha256: str, *, user_id: int = PAYER.id, number: int = 1) -> None:
    """A filed ticket whose evidence is these bytes."""
    async with db.transaction() as session:
        session.add(Ticket(reference=f"RF-GC{number:04d}", user_id=user_id, chat_id=user_id, locale="en",
                           amount_minor=9900, currency="CNY", paid_at=NOW, status="needs_review",
                           report_key=f"key{number}", evidence_sha256=sha256, created_at=NOW, updated_at=NOW))


@pytest.fixture(params=["local", "s3"])
def stores(request, tmp_path) -> StoreUnderTest:
    """Each evidence store in turn: the local folder, then a bucket on the test S3 server."""
    if request.param == "local":
        return StoreUnderTest.local(tmp_path / "evidence")
    endpoint, bucket = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket")
    return StoreUnderTest.s3(endpoint, bucket)
