"""A payer's own WeChat or Alipay bill instead of a screenshot: its duplicated pair fills in the report and
the file is kept as evidence; a bill without one is refused in words and the screenshot question stands."""

import io
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.delivery.worker import DeliveryPolicy, DeliveryWorker
from handlers.events import Attachment, EventKind, Person
from handlers.evidence.bills import MAX_BILL_BYTES
from handlers.support.cards import CardPublisher, CardRenderer, SupportSettings
from handlers.texts import format_money
from storage.models import Conversation, Ticket
from tests.conftest import make_sqlite
from tests.doubles import Clock
from tests.evidence.conftest import (
    NOW,
    PAYER,
    TEXTS,
    DeskPayer,
    Downloads,
    evidence_rows,
    image,
    make_desk,
    step_of,
    stored_files,
)
from tests.evidence.test_screenshot_step import WatchfulDownloads
from tests.lifecycle.conftest import SUPPORT_CHAT, make_policy

BILLS = Path(__file__).resolve().parents[1] / "samples" / "bills"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MERCHANT = ("Happy Tea",)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LATER_ORDER, EARLIER_ORDER = "HT20261125210405", "HT20261125210331"


def bill(name: str) -> bytes:
    return (BILLS / name).read_bytes()


@pytest.fixture
async def sqlite_db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


def desk_payer(db, tmp_path, files: dict[str, bytes], *, language="en", merchant_names=MERCHANT, **rules):
    downloads = files if isinstance(files, Downloads) else Downloads(files)
    desk = make_desk(db, tmp_path, downloads, zone=SHANGHAI, merchant_names=merchant_names, **rules)
    return DeskPayer(desk, Person(PAYER.id, first_name="Ann", language_code=language)), downloads


async def send_bill(payer: DeskPayer, file_id: str, *, name="bill.csv", mime="text/csv", size=2000) -> str:
    attachment = Attachment(file_id=file_id, file_size=size, mime_type=mime, file_name=name)
    [reply] = await payer.send(EventKind.DOCUMENT, attachment=attachment)
    return reply.text


async def reach_screenshot_step(payer: DeskPayer, *, order: str | None = None) -> None:
    await payer.command("report")
    if order:
        await payer.text(order)
    else:
        await payer.press("no_order")
    await payer.text("99")
    await payer.press("day", "today")
    assert await step_of(payer.desk.db) == "screenshot"


def screenshot_question(payer: DeskPayer) -> str:
    return payer.says("ask.screenshot_or_bill")


async def conversation(db) -> Conversation:
    async with db.transaction() as session:
        return await session.get(Conversation, PAYER.id)


FOUND = {
    "en": {
        "wechat_duplicate.csv": ("WeChat", "Happy Tea 三里屯店"),
        "alipay_duplicate.csv": ("Alipay", "Happy Tea"),
    },
    "zh": {
        "wechat_duplicate.csv": ("微信", "Happy Tea 三里屯店"),
        "alipay_duplicate.csv": ("支付宝", "Happy Tea"),
    },
}
WHEN = {
    "en": "on Nov 25, 2026 at 9:03:40\u202fPM and 9:04:12\u202fPM",
    "zh": "2026年11月25日 21:03:40 和 21:04:12",
}


@pytest.mark.parametrize("name", ["wechat_duplicate.csv", "alipay_duplicate.csv"])
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_bill_with_a_duplicated_pair_fills_the_report_from_the_later_payment(
    sqlite_db, tmp_path, name, language
):
    data = bill(name)
    payer, files = desk_payer(sqlite_db, tmp_path, {"bill": data}, language=language)
    await reach_screenshot_step(payer)
    assert payer.last[-1].text.endswith(screenshot_question(payer))
    reply = await send_bill(payer, "bill")

    platform, counterparty = FOUND[language][name]
    orders = f"{EARLIER_ORDER} and {LATER_ORDER}" if language == "en" else f"{EARLIER_ORDER}和{LATER_ORDER}"
    amount = format_money(Decimal("88.00"), "CNY", language)
    found = payer.says("bill.found", platform=platform, amount=amount, name=counterparty, when=WHEN[language],
                       orders=orders)
    assert reply.startswith(found + "\n\n")
    assert LATER_ORDER in reply.split("\n\n", 1)[1]  # the review below shows the order filled in
    assert await step_of(sqlite_db) == "review"
    report = await conversation(sqlite_db)
    assert (report.order_id, report.order_skipped) == (LATER_ORDER, False)
    assert (report.amount_minor, report.currency) == (8800, "CNY")
    assert report.paid_at.astimezone(UTC) == datetime(2026, 11, 25, 13, 4, 12, tzinfo=UTC)
    assert not report.paid_on_day_only
    [row] = await evidence_rows(sqlite_db)
    assert (row.mime_type, row.size, row.uploaded_by) == ("text/csv", len(data), PAYER.id)
    assert stored_files(tmp_path) == [row.sha256] and report.evidence_sha256 == row.sha256
    assert files.asked == ["bill"]

    await payer.press("submit")
    async with sqlite_db.transaction() as session:
        [ticket] = (await session.exec(select(Ticket))).all()
    assert (ticket.order_id, ticket.amount_minor, ticket.currency) == (LATER_ORDER, 8800, "CNY")
    assert ticket.evidence_sha256 == row.sha256
    assert ticket.paid_at.astimezone(UTC) == datetime(2026, 11, 25, 13, 4, 12, tzinfo=UTC)


async def test_an_order_number_the_payer_typed_outside_the_pair_is_kept_and_said(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill("wechat_duplicate.csv")})
    await reach_screenshot_step(payer, order="A-7731")
    reply = await send_bill(payer, "bill")
    orders = f"{EARLIER_ORDER} and {LATER_ORDER}"
    assert payer.says("bill.kept_your_order", order="A-7731", orders=orders) in reply
    report = await conversation(sqlite_db)
    assert report.order_id == "A-7731"  # kept
    assert (report.amount_minor, report.currency) == (8800, "CNY")  # but the amount and time are the bill's
    assert await step_of(sqlite_db) == "review"


async def test_an_order_number_typed_from_the_pair_gives_way_to_the_later_payment(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill("alipay_duplicate.csv")})
    await reach_screenshot_step(payer, order=EARLIER_ORDER.lower())
    reply = await send_bill(payer, "bill")
    assert "kept your order number" not in reply
    assert (await conversation(sqlite_db)).order_id == LATER_ORDER


def with_a_closer_pair(data: bytes) -> bytes:
    """The WeChat sample plus two ¥15.50 payments to Happy Tea ten seconds apart (closer than the ¥88.00s)."""
    lines = data.decode("utf-8-sig").splitlines()
    row = ("2026-11-24 12:00:{second},商户消费,Happy Tea 三里屯店,饼干,支出,¥15.50,零钱,支付成功,"
           "42000{second}\t,HT-COOKIE-{second}\t,/")
    lines[17:17] = [row.format(second=10), row.format(second=20)]
    return "\ufeff".join(["", "\n".join(lines)]).encode("utf-8")


@pytest.mark.parametrize(("typed", "order", "amount_minor"), [
    ("88", LATER_ORDER, 8800),  # the pair of the amount the payer typed
    ("99", "HT-COOKIE-20", 1550),  # none of it: the closest pair
])
async def test_the_pair_of_the_typed_amount_comes_first(sqlite_db, tmp_path, typed, order, amount_minor):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": with_a_closer_pair(bill("wechat_duplicate.csv"))})
    await payer.command("report")
    await payer.press("no_order")
    await payer.text(typed)
    await payer.press("day", "today")
    await send_bill(payer, "bill")
    report = await conversation(sqlite_db)
    assert (report.order_id, report.amount_minor) == (order, amount_minor)


async def test_a_pair_older_than_the_refund_window_is_refused(sqlite_db, tmp_path):
    clock = Clock(NOW)
    files = Downloads({"bill": bill("wechat_duplicate.csv")})
    payer = DeskPayer(make_desk(sqlite_db, tmp_path, files, clock, zone=SHANGHAI, merchant_names=MERCHANT,
                                refund_window_days=30))
    await reach_screenshot_step(payer)
    clock.now += timedelta(days=31)
    reply = await send_bill(payer, "bill")
    assert reply == f"⚠️ {payer.says('paid_at.too_old', days=30)}\n\n{screenshot_question(payer)}"
    assert await evidence_rows(sqlite_db) == [] and (await conversation(sqlite_db)).amount_minor == 9900


async def test_a_bill_with_only_other_merchants_says_so(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill("wechat_duplicate.csv")},
                          merchant_names=("Lucky Coffee",))
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert reply == (f"⚠️ {payer.says('bill.no_merchant_charge', platform='WeChat')}\n\n"
                     f"{screenshot_question(payer)}")
    assert await step_of(sqlite_db) == "screenshot"
    assert await evidence_rows(sqlite_db) == [] and stored_files(tmp_path) == []


@pytest.mark.parametrize(("name", "platform", "language", "window"), [
    ("wechat_duplicate.csv", "WeChat", "en", "10 minutes"),
    ("alipay_duplicate.csv", "支付宝", "zh", "10分钟"),
])
async def test_a_bill_without_a_duplicated_pair_says_so(sqlite_db, tmp_path, name, platform, language,
                                                        window):
    # City Bakery was paid ¥88.00 once: payments to the merchant, but no pair.
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill(name)}, language=language,
                          merchant_names=("City Bakery",))
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert reply == (f"⚠️ {payer.says('bill.no_pair', platform=platform, window=window)}\n\n"
                     f"{screenshot_question(payer)}")
    assert await step_of(sqlite_db) == "screenshot"
    assert await evidence_rows(sqlite_db) == []


@pytest.mark.parametrize(("name", "key", "line"), [
    ("wechat_malformed.csv", "bill.malformed_wechat", 20),
    ("alipay_malformed.csv", "bill.malformed_alipay", 27),
])
async def test_a_malformed_bill_names_the_broken_line(sqlite_db, tmp_path, name, key, line):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill(name)})
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert reply == f"⚠️ {payer.says(key, line=line)}\n\n{screenshot_question(payer)}"
    assert await step_of(sqlite_db) == "screenshot"
    assert await evidence_rows(sqlite_db) == [] and stored_files(tmp_path) == []


async def test_a_csv_that_is_no_bill_says_so(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": b"transaction_id,order_id\ntx1,A1\n"})
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert reply == f"⚠️ {payer.says('bill.not_a_bill')}\n\n{screenshot_question(payer)}"


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


async def test_an_xlsx_bill_is_asked_for_as_csv_without_being_downloaded(sqlite_db, tmp_path):
    payer, files = desk_payer(sqlite_db, tmp_path, {"bill": xlsx_bytes()})
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill", name="微信支付账单(20261101-20261125).xlsx", mime=XLSX_MIME)
    assert reply == f"⚠️ {payer.says('bill.spreadsheet')}\n\n{screenshot_question(payer)}"
    assert files.asked == [] and await step_of(sqlite_db) == "screenshot"


async def test_a_spreadsheet_sent_as_csv_is_known_by_its_bytes(sqlite_db, tmp_path):
    payer, files = desk_payer(sqlite_db, tmp_path, {"bill": xlsx_bytes()})
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill", name="bill.csv", mime="application/vnd.ms-excel")
    assert reply == f"⚠️ {payer.says('bill.spreadsheet')}\n\n{screenshot_question(payer)}"
    assert files.asked == ["bill"]


async def test_a_bill_over_the_cap_is_refused(sqlite_db, tmp_path):
    padded = bill("wechat_duplicate.csv") + b"\n" * MAX_BILL_BYTES
    payer, files = desk_payer(sqlite_db, tmp_path, {"declared": padded, "silent": padded})
    await reach_screenshot_step(payer)
    refusal = f"⚠️ {payer.says('bill.too_large', max_mb=2)}\n\n{screenshot_question(payer)}"
    assert await send_bill(payer, "declared", size=len(padded)) == refusal
    assert files.asked == []  # its declared size was enough
    assert await send_bill(payer, "silent", size=None) == refusal
    assert files.asked == ["silent"]
    assert await step_of(sqlite_db) == "screenshot" and await evidence_rows(sqlite_db) == []


async def test_a_bill_that_would_pass_the_quota_is_not_kept(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"bill": bill("wechat_duplicate.csv")},
                          evidence_quota_bytes=1000)
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert reply == f"⚠️ {payer.says('bill.quota_full', max_mb=0)}\n\n{screenshot_question(payer)}"
    report = await conversation(sqlite_db)
    assert report.step == "screenshot" and report.order_id is None and report.amount_minor == 9900


async def test_without_merchant_names_a_bill_cannot_be_matched_and_is_not_fetched(sqlite_db, tmp_path):
    payer, files = desk_payer(sqlite_db, tmp_path, {"bill": bill("wechat_duplicate.csv")}, merchant_names=())
    await reach_screenshot_step(payer)
    assert payer.last[-1].text.endswith(payer.says("ask.screenshot"))  # no bill offered
    reply = await send_bill(payer, "bill")
    assert reply == f"⚠️ {payer.says('bill.cannot_match')}\n\n{payer.says('ask.screenshot')}"
    assert files.asked == [] and await step_of(sqlite_db) == "screenshot"


async def test_a_bill_sent_at_another_step_is_not_taken_as_a_bill(sqlite_db, tmp_path):
    files = {"bill": bill("wechat_duplicate.csv"), "shot": image("PNG")}
    payer, files = desk_payer(sqlite_db, tmp_path, files)
    await send_bill(payer, "bill")  # at the menu
    await payer.command("report")
    reply = await send_bill(payer, "bill")  # at the order step
    assert reply == f"⚠️ {payer.says('wrong_input.order')}\n\n{payer.says('ask.order')}"
    await payer.press("no_order")
    await payer.text("99")
    await payer.press("day", "today")
    await payer.send(EventKind.PHOTO, attachment=Attachment("shot", file_size=500))  # a screenshot after all
    assert await step_of(sqlite_db) == "review"
    reply = await send_bill(payer, "bill")  # at the review
    assert reply.startswith(f"⚠️ {payer.says('wrong_input.review')}")
    assert files.asked == ["shot"]  # the bill was never fetched
    report = await conversation(sqlite_db)
    assert report.order_id is None and report.amount_minor == 9900


async def test_a_screenshot_still_works_where_bills_are_taken(sqlite_db, tmp_path):
    payer, _ = desk_payer(sqlite_db, tmp_path, {"shot": image("PNG")})
    await reach_screenshot_step(payer)
    reply = await payer.document("shot", mime_type="image/png")
    assert reply.text.startswith(payer.says("ack.screenshot"))
    [row] = await evidence_rows(sqlite_db)
    assert row.mime_type == "image/png"


async def test_the_bill_is_downloaded_with_no_transaction_open(db, tmp_path):
    files = WatchfulDownloads(db, {"bill": bill("alipay_duplicate.csv")})
    payer, _ = desk_payer(db, tmp_path, files)
    await reach_screenshot_step(payer)
    reply = await send_bill(payer, "bill")
    assert files.asked == ["bill"] and files.inside_a_transaction == []
    assert reply.startswith(payer.says("bill.found", platform="Alipay", amount="CN¥88.00", name="Happy Tea",
                                       when=WHEN["en"], orders=f"{EARLIER_ORDER} and {LATER_ORDER}"))
    assert [row.mime_type for row in await evidence_rows(db)] == ["text/csv"]


class SupportGroup:
    """The Messenger port: every card posted, with or without a photo."""

    def __init__(self) -> None:
        self.cards: list[tuple[bytes | None, str]] = []

    async def send_card(self, chat_id, *, thread_id, photo, text, buttons) -> int:
        self.cards.append((photo, text))
        return len(self.cards)

    async def send(self, chat_id, text, buttons, *, thread_id=None, reply_to=None, parse_mode=None) -> None:
        return None

    async def edit_card(self, chat_id, message_id, *, with_photo, text, buttons) -> None:
        return None


async def post_cards(db, tmp_path, desk) -> SupportGroup:
    group = SupportGroup()
    renderer = CardRenderer(TEXTS, SupportSettings(chat_id=SUPPORT_CHAT))
    cards = CardPublisher(db, renderer, desk.evidence, group, desk.clock)
    worker = DeliveryWorker(db, group, desk.clock, DeliveryPolicy(rate_per_second=1000, per_chat_interval=0),
                            cards=cards)
    await worker.drain()
    return group


async def test_the_support_card_of_a_bill_says_so_and_posts_no_photo(sqlite_db, tmp_path):
    files = Downloads({"bill": bill("wechat_duplicate.csv")})
    desk = make_desk(sqlite_db, tmp_path, files, policy=make_policy(), zone=SHANGHAI, merchant_names=MERCHANT)
    payer = DeskPayer(desk)
    await reach_screenshot_step(payer)
    await send_bill(payer, "bill")
    await payer.press("submit")
    [(photo, text)] = (await post_cards(sqlite_db, tmp_path, desk)).cards
    assert photo is None
    assert TEXTS.get("en", "card.evidence_bill") in text and LATER_ORDER in text


async def test_the_support_card_of_a_screenshot_still_carries_the_photo(sqlite_db, tmp_path):
    shot = image("PNG")
    desk = make_desk(sqlite_db, tmp_path, Downloads({"shot": shot}), policy=make_policy(), zone=SHANGHAI,
                     merchant_names=MERCHANT)
    payer = DeskPayer(desk)
    await reach_screenshot_step(payer)
    await payer.photo("shot")
    await payer.press("submit")
    [(photo, text)] = (await post_cards(sqlite_db, tmp_path, desk)).cards
    assert photo == shot and TEXTS.get("en", "card.evidence_bill") not in text
