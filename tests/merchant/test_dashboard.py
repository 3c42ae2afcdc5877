"""/merchant (/dashboard): the merchant's figures from seeded rows, on both databases, chart and caption."""

import io
import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.charts import CHART_SIZE, SERIES_COLORS, PillowChartDrawer
from handlers.events import Event, EventKind, Output, Person, Photo, Reply
from handlers.payer.desk import PayerDesk
from handlers.payer.turn import IntakeRules
from handlers.ports import CountChart, CountSeries, SeriesStyle
from handlers.texts import Texts
from storage.evidence_files import EvidenceFiles
from storage.models import (
    OutboxMessage,
    OutboxStatus,
    Refund,
    SuspectedDuplicate,
    Ticket,
    TicketAudit,
    User,
)
from tests.doubles import Clock
from tests.money.conftest import Screenshots

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 on Nov 26 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
MERCHANT, PAYER = 900, 42
TEXTS = Texts.load()
UPDATE_IDS = itertools.count(1)
DAY = timedelta(days=1)


class Charts:
    """The CountChartDrawer port: remembers what it was asked to draw."""

    def __init__(self):
        self.drawn: list[CountChart] = []

    def draw_counts(self, chart: CountChart) -> bytes:
        self.drawn.append(chart)
        return b"chart"


def desk(db, tmp_path, charts) -> PayerDesk:
    rules = IntakeRules(zone=SHANGHAI, merchant_admin_ids=frozenset({MERCHANT}))
    return PayerDesk(db, TEXTS, rules, EvidenceFiles(tmp_path / "evidence"), Screenshots(), Clock(NOW), "en",
                     charts=charts)


async def command(payers: PayerDesk, user_id: int, text: str) -> list[Output]:
    name, _, args = text[1:].partition(" ")
    event = Event(update_id=next(UPDATE_IDS), person=Person(user_id, "Mia", None, "en"), chat_id=user_id,
                  kind=EventKind.COMMAND, text=text, command=name, args=args)
    return await payers.handle(event)


async def seed(db, *, merchant_locale: str = "en") -> None:
    """Tickets, refunds, suspicions, tip messages and tip answers, some before the last 14 days."""
    async with db.transaction() as session:
        session.add(User(id=MERCHANT, first_name="Mia", locale=merchant_locale, created_at=NOW))
        for user_id, tips in ((1, True), (2, True), (3, True), (4, False), (5, None), (6, None)):
            session.add(User(id=user_id, first_name=f"p{user_id}", locale="en", tips=tips, created_at=NOW))
        tickets = {
            # name: (filed, current status, audit trail)
            "today_verified": (NOW - timedelta(hours=1), "verified", ["verified"]),
            # 01:00 on Nov 26 in Shanghai, still Nov 25 in UTC: counted on the merchant's Nov 26
            "after_local_midnight": (datetime(2026, 11, 25, 17, 0, tzinfo=UTC), "needs_review",
                                     ["needs_review"]),
            "approved_refunded": (NOW - 2 * DAY, "refunded",
                                  ["needs_review", "approved", "refund_pending", "refunded"]),
            "rejected": (NOW - 2 * DAY, "rejected", ["needs_review", "rejected"]),
            # confirmed once, then cancelled by the payer: still a confirmed duplicate
            "verified_then_cancelled": (NOW - 2 * DAY, "cancelled", ["verified", "cancelled"]),
            "verified_refunded": (NOW - 5 * DAY, "refunded", ["verified", "refund_pending", "refunded"]),
            "long_ago": (NOW - 20 * DAY, "refunded", ["verified", "refund_pending", "refunded"]),
        }
        ids = {}
        for number, (name, (filed, status, trail)) in enumerate(tickets.items(), start=1):
            ticket = Ticket(reference=f"RF-T{number}", user_id=1, order_id=f"O{number}", amount_minor=9900,
                            currency="CNY", status=status, chat_id=1, locale="en", paid_at=filed,
                            report_key=f"k{number}", created_at=filed, updated_at=filed)
            session.add(ticket)
            await session.flush()
            ids[name] = ticket.id
            for before, after in zip([None, *trail], trail, strict=False):
                session.add(TicketAudit(ticket_id=ticket.id, actor="payer:1", from_status=before,
                                        to_status=after, at=filed))
        landings = (("approved_refunded", NOW - DAY, "succeeded"),  # 1 day after filing
                    ("verified_refunded", NOW - 3 * DAY, "succeeded"),  # 2 days after filing
                    ("long_ago", NOW - 15 * DAY, "succeeded"),  # 5 days after filing, before the 14 days
                    ("today_verified", None, "pending"))
        for number, (name, landed, status) in enumerate(landings, start=1):
            session.add(Refund(ticket_id=ids[name], reference=f"RF-R{number}", transaction_id=f"tx{number}",
                               amount_minor=9900, currency="CNY", provider="ledger", status=status,
                               landed_at=landed, created_at=NOW, updated_at=NOW))
        suspicions = ((NOW - DAY, "confirmed"), (NOW - DAY, "declined"),
                      (NOW - timedelta(minutes=30), "alerted"), (NOW - 20 * DAY, "declined"))
        for number, (paid_at, status) in enumerate(suspicions, start=1):
            session.add(SuspectedDuplicate(payer_id="openid-1", original_transaction_id=f"o{number}",
                                           transaction_id=f"s{number}", amount_minor=9900, currency="CNY",
                                           first_paid_at=paid_at, paid_at=paid_at, status=status,
                                           detected_at=paid_at))
        messages = ((7, OutboxStatus.SENT, NOW - DAY), (7, OutboxStatus.SENT, NOW - DAY),
                    (8, OutboxStatus.SENT, NOW), (8, OutboxStatus.DROPPED, None),
                    (8, OutboxStatus.PENDING, None), (2, OutboxStatus.SENT, NOW - 20 * DAY),
                    (None, OutboxStatus.SENT, NOW))  # a status update, not a tip
        for number, (broadcast, status, sent_at) in enumerate(messages, start=1):
            session.add(OutboxMessage(dedupe_key=f"m{number}", chat_id=1, priority=1, text="tip",
                                      status=status, not_before=NOW, created_at=NOW, sent_at=sent_at,
                                      broadcast_id=broadcast))


def only(outputs: list[Output], kind: type) -> Output:
    [output] = outputs
    assert isinstance(output, kind), outputs
    return output


def nonzero(chart: CountChart, series: CountSeries) -> dict[date, int]:
    return {day: count for day, count in zip(chart.days, series.counts, strict=True) if count}


async def test_figures_of_the_last_14_days(db, tmp_path):
    await seed(db)
    charts = Charts()
    photo = only(await command(desk(db, tmp_path, charts), MERCHANT, "/merchant"), Photo)
    assert photo.data == b"chart"
    assert photo.caption.splitlines() == [
        "📊 Your duplicate charges, Nov 13, 2026 – Nov 26, 2026",
        "Duplicate reports: 6 · confirmed duplicates: 4",
        "Refunds landed: 2 · median time from report to landing: 36 hours",
        "Suspected duplicates found by the monitor: 3 · payers said yes, refund: 1 · no, both intended: 1",
        "Tips sent: 3 · opt-out rate: 25% (1 of 4 payers who answered)",
    ]
    [chart] = charts.drawn
    assert chart.days[0] == date(2026, 11, 13) and chart.days[-1] == date(2026, 11, 26)
    assert len(chart.days) == 14
    assert chart.title == "Duplicate charges per day, Nov 13, 2026 to Nov 26, 2026"
    reports, confirmed, suspected = chart.series
    assert nonzero(chart, reports) == {date(2026, 11, 21): 1, date(2026, 11, 24): 3, date(2026, 11, 26): 2}
    assert nonzero(chart, confirmed) == {date(2026, 11, 21): 1, date(2026, 11, 24): 2, date(2026, 11, 26): 1}
    assert nonzero(chart, suspected) == {date(2026, 11, 25): 2, date(2026, 11, 26): 1}
    assert [s.style for s in chart.series] == [SeriesStyle.BARS, SeriesStyle.BARS, SeriesStyle.LINE]
    assert [s.legend for s in chart.series] == ["Duplicate reports", "Confirmed duplicates",
                                                "Suspected by the monitor"]


async def test_the_period_is_the_merchants_to_choose(db, tmp_path):
    await seed(db)
    charts = Charts()
    photo = only(await command(desk(db, tmp_path, charts), MERCHANT, "/dashboard 30"), Photo)
    assert photo.caption.splitlines()[1:] == [
        "Duplicate reports: 7 · confirmed duplicates: 5",
        "Refunds landed: 3 · median time from report to landing: 2 days",
        "Suspected duplicates found by the monitor: 4 · payers said yes, refund: 1 · no, both intended: 2",
        "Tips sent: 4 · opt-out rate: 25% (1 of 4 payers who answered)",
    ]
    assert len(charts.drawn[0].days) == 30


async def test_in_the_merchants_language(db, tmp_path):
    await seed(db, merchant_locale="zh")
    charts = Charts()
    photo = only(await command(desk(db, tmp_path, charts), MERCHANT, "/merchant"), Photo)
    assert photo.caption.splitlines() == [
        "📊 重复扣款概况，2026年11月13日 – 2026年11月26日",
        "重复扣款报告：6 · 确认重复：4",
        "退款已到账：2 · 从报告到到账的时间中位数：36小时",
        "监控发现的疑似重复扣款：3 · 付款人要求退款：1 · 表示两笔都是本人有意支付：1",
        "已发送提示：3 · 退订率：25%（已回复的 4 位付款人中有 1 位）",
    ]
    [chart] = charts.drawn
    assert chart.title == "每日重复扣款，2026年11月13日至2026年11月26日"
    assert (chart.count_axis, [s.legend for s in chart.series]) == (
        "每日数量", ["重复扣款报告", "确认重复", "监控疑似重复"]
    )


async def test_the_chart_is_a_png(db, tmp_path):
    await seed(db)
    photo = only(await command(desk(db, tmp_path, PillowChartDrawer()), MERCHANT, "/merchant"), Photo)
    assert photo.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(photo.data)).size == CHART_SIZE
    assert len(photo.caption) <= 1024


async def test_a_payer_gets_nothing_merchant_ish(db, tmp_path):
    await seed(db)
    charts = Charts()
    payers = desk(db, tmp_path, charts)
    for text in ("/merchant", "/dashboard 30"):
        reply = only(await command(payers, PAYER, text), Reply)
        assert reply.text == TEXTS.get("en", "command.unknown")
    assert charts.drawn == []


async def test_no_data_is_a_clear_text_not_an_empty_chart(db, tmp_path):
    charts = Charts()
    reply = only(await command(desk(db, tmp_path, charts), MERCHANT, "/merchant 7"), Reply)
    assert reply.text == ("📊 Nov 20, 2026 – Nov 26, 2026: no duplicate reports, refunds, suspected "
                          "duplicates or tips sent in this period.")
    assert charts.drawn == []


@pytest.mark.parametrize("args", ["abc", "0", "366", "-3", "1.5", "٣", "7 days", "9" * 40])
async def test_a_period_that_is_not_a_number_of_days_is_explained(db, tmp_path, args):
    reply = only(await command(desk(db, tmp_path, Charts()), MERCHANT, f"/merchant {args}"), Reply)
    assert reply.text == ("Send /merchant for the last 14 days, or /merchant followed by a number of days "
                          "from 1 to 365, e.g. /merchant 30.")


def test_bars_stand_side_by_side_and_the_line_is_drawn():
    days = (date(2026, 11, 25), date(2026, 11, 26))
    chart = CountChart("t", "per day", days, (
        CountSeries("reports", (0, 4)), CountSeries("confirmed", (0, 0)),
        CountSeries("suspected", (3, 3), SeriesStyle.LINE),
    ))
    image = Image.open(io.BytesIO(PillowChartDrawer().draw_counts(chart))).convert("RGB")
    colors = {color for _, color in image.getcolors(maxcolors=1 << 20)}
    blue, green, orange = SERIES_COLORS[:3]
    assert blue in colors and orange in colors
    # The green bars are all zero: green is only in the legend's swatch, at the bottom of the image.
    plot = image.crop((0, 0, CHART_SIZE[0], CHART_SIZE[1] - 60))
    assert green not in {color for _, color in plot.getcolors(maxcolors=1 << 20)}
    assert blue in {color for _, color in plot.getcolors(maxcolors=1 << 20)}
