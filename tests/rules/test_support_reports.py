"""Support report rules: SLA states, durations, the summary text, the chart, the period."""

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.charts import BAR_COLOR, LINE_COLOR, PillowChartDrawer
from handlers.ports import ChartLabels
from handlers.support.reports import (
    CSV_COLUMNS,
    StatsReport,
    audit_csv_row,
    chart_labels,
    count_by_status,
    duration_text,
    filed_as_verified,
    first_action_delay,
    period_days,
    period_start,
    queue_entry,
    sla_state,
    spreadsheet_safe,
    stats_text,
)
from handlers.texts import Texts
from storage.models import Refund, Ticket, TicketAudit

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
SLA = timedelta(hours=4)
TEXTS = Texts.load()


def english(key: str, **params: object) -> str:
    return TEXTS.get("en", key, **params)


def chinese(key: str, **params: object) -> str:
    return TEXTS.get("zh", key, **params)


@pytest.mark.parametrize(("age", "state"), [
    (timedelta(0), "ok"),
    (timedelta(hours=3), "ok"),  # exactly 75%
    (timedelta(hours=3, seconds=1), "due soon"),
    (timedelta(hours=3, minutes=59), "due soon"),
    (timedelta(hours=4), "breached"),
    (timedelta(days=2), "breached"),
])
def test_sla_state(age, state):
    assert sla_state(age, SLA) == state


@pytest.mark.parametrize(("duration", "text"), [
    (timedelta(hours=3, minutes=20, seconds=59), "3h 20m"),
    (timedelta(days=2, hours=4, minutes=30), "2d 4h"),
    (timedelta(days=1), "1d"),
    (timedelta(hours=5), "5h"),
    (timedelta(minutes=7), "7m"),
    (timedelta(seconds=45), "45s"),
    (timedelta(0), "0s"),
    (timedelta(minutes=-5), "0s"),
])
def test_duration_text(duration, text):
    assert duration_text(duration) == text


def ticket(**overrides) -> Ticket:
    values = dict(reference="RF-AAAA2222", user_id=7, chat_id=7, locale="en", order_id="A1",
                  amount_minor=9900, currency="CNY", paid_at=NOW, status="needs_review", report_key="k1",
                  created_at=NOW, updated_at=NOW)
    values.update(overrides)
    return Ticket(**values)


def test_queue_entry_ages_a_ticket_from_its_filing():
    waiting = ticket(created_at=NOW - timedelta(hours=3, minutes=20))
    assert queue_entry(waiting, now=NOW, sla=SLA) == ("RF-AAAA2222", "3h 20m", "due soon")
    later = NOW + timedelta(hours=1)
    assert queue_entry(waiting, now=later, sla=SLA) == ("RF-AAAA2222", "4h 20m", "breached")


def test_first_action_is_the_first_agent_or_policy_step():
    filed = ticket(created_at=NOW)
    trail = [
        TicketAudit(ticket_id=1, actor="payer:7", from_status=None, to_status="needs_review", at=NOW),
        TicketAudit(ticket_id=1, actor="payer:7", from_status="needs_review", to_status="cancelled",
                    at=NOW + timedelta(minutes=1)),
        TicketAudit(ticket_id=1, actor="agent:42", from_status="cancelled", to_status="needs_review",
                    at=NOW + timedelta(hours=2)),
        TicketAudit(ticket_id=1, actor="policy:auto-approve", from_status="needs_review",
                    to_status="approved", at=NOW + timedelta(hours=3)),
    ]
    assert first_action_delay(filed, trail) == timedelta(hours=2)
    assert first_action_delay(filed, trail[:2]) is None


def test_a_confirmed_duplicate_was_filed_as_verified():
    filed_verified = TicketAudit(ticket_id=1, actor="payer:7", to_status="verified", at=NOW)
    filed_for_review = TicketAudit(ticket_id=1, actor="payer:7", to_status="needs_review", at=NOW)
    verified_later = TicketAudit(ticket_id=1, actor="agent:42", from_status="needs_review",
                                 to_status="verified", at=NOW + timedelta(hours=1))
    assert filed_as_verified([filed_verified]) is True
    assert filed_as_verified([filed_for_review, verified_later]) is False
    assert filed_as_verified([]) is False


def test_statuses_are_counted_in_vocabulary_order():
    tickets = [ticket(status=s) for s in ["refunded", "needs_review", "refunded", "verified", "mystery"]]
    counts = count_by_status(tickets)
    assert list(counts.items()) == [("verified", 1), ("needs_review", 1), ("refunded", 2), ("mystery", 1)]


def test_the_period_is_whole_local_days_ending_today():
    assert period_days(days=3, now=NOW, zone=SHANGHAI) == [date(2026, 11, 24), date(2026, 11, 25),
                                                           date(2026, 11, 26)]
    assert period_start(days=3, now=NOW, zone=SHANGHAI) == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    # 02:00 UTC on 11-26 is still 11-25 in New York.
    assert period_days(days=1, now=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
                       zone=ZoneInfo("America/New_York")) == [date(2026, 11, 25)]
    with pytest.raises(ValueError):
        period_days(days=0, now=NOW, zone=SHANGHAI)


def report(per_day: list[tuple[date, int, timedelta | None]], **overrides) -> StatsReport:
    values = dict(days=len(per_day), since=NOW, by_status={}, filed=sum(c for _, c, _ in per_day),
                  duplicates_confirmed=0, refunds_landed=0, median_first_action=None,
                  median_time_to_landing=None, per_day=per_day)
    values.update(overrides)
    return StatsReport(**values)


WEEK = [(date(2026, 11, 20) + timedelta(days=i), count, median) for i, (count, median) in enumerate([
    (3, timedelta(hours=30)), (0, None), (5, timedelta(hours=50)), (12, timedelta(hours=20)), (7, None),
    (1, timedelta(hours=4)), (4, timedelta(hours=26)),
])]


def test_stats_text_sums_up_the_report():
    text = stats_text(report(WEEK, by_status={"refunded": 20, "needs_review": 12}, duplicates_confirmed=25,
                             refunds_landed=20, median_first_action=timedelta(hours=3, minutes=20),
                             median_time_to_landing=timedelta(days=2, hours=4)), english)
    assert text.splitlines() == [
        "Duplicate-charge tickets, last 7 days (2026-11-20 – 2026-11-26)",
        "Filed: 32 · confirmed duplicates: 25 · refunds landed: 20",
        "First action (median): 3h 20m",
        "Filing to landing (median): 2d 4h",
        "By status: refunded 20, needs_review 12",
    ]


def test_stats_text_without_data_and_in_chinese():
    empty = report([(date(2026, 11, 26), 0, None)])
    assert stats_text(empty, english).splitlines() == [
        "Duplicate-charge tickets, last 1 day (2026-11-26 – 2026-11-26)",
        "Filed: 0 · confirmed duplicates: 0 · refunds landed: 0",
        "First action (median): n/a", "Filing to landing (median): n/a", "By status: none",
    ]
    assert stats_text(empty, chinese).splitlines() == [
        "重复扣款工单，最近 1 天（2026-11-26 – 2026-11-26）",
        "已提交：0 · 确认重复：0 · 退款已到账：0",
        "首次处理（中位数）：暂无数据", "提交到退款到账（中位数）：暂无数据", "按状态：无",
    ]


def test_chart_labels_come_from_the_catalogs():
    assert chart_labels(report(WEEK), english) == ChartLabels(
        "Duplicate-charge tickets, last 7 days", "Tickets filed", "Median hours to landing",
        "Tickets filed per day", "Median hours to landing",
    )
    assert chart_labels(report(WEEK), chinese).title == "重复扣款工单，最近 7 天"
    assert chart_labels(report([(date(2026, 11, 26), 0, None)]), english).title.endswith("last 1 day")


def stats_chart_png(stats: StatsReport) -> bytes:
    return PillowChartDrawer().draw(stats.per_day, chart_labels(stats, english))


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def pixels_of(image: Image.Image, color: tuple[int, int, int]) -> int:
    counts = {rgb: count for count, rgb in image.getcolors(maxcolors=image.width * image.height)}
    return counts.get(color, 0)


def test_chart_draws_bars_and_the_landing_line():
    image = decode(stats_chart_png(report(WEEK)))
    assert image.size == (900, 500)
    assert image.getpixel((0, 0)) == (255, 255, 255)
    assert pixels_of(image, BAR_COLOR) > 5000
    assert pixels_of(image, LINE_COLOR) > 200


def test_taller_bars_for_more_tickets():
    few = decode(stats_chart_png(report([(date(2026, 11, 26), 1, None), (date(2026, 11, 27), 10, None)])))
    assert pixels_of(few, BAR_COLOR) > 0
    # Same scale, same width: the 10-ticket bar is ten times the 1-ticket bar.
    left_half = few.crop((0, 0, 450, 500))
    right_half = few.crop((450, 0, 900, 500))
    assert pixels_of(right_half, BAR_COLOR) > 8 * pixels_of(left_half, BAR_COLOR)


@pytest.mark.parametrize("per_day", [
    [(date(2026, 11, 26), 0, None)],
    [(date(2026, 11, 20) + timedelta(days=i), 0, None) for i in range(30)],
], ids=["one empty day", "thirty empty days"])
def test_chart_without_data_still_has_axes_and_no_bars(per_day):
    image = decode(stats_chart_png(report(per_day)))
    assert image.size == (900, 500)
    assert len(image.getcolors(maxcolors=100_000)) > 10  # text and axes, not a blank page
    plot = image.crop((95, 75, 805, 395))
    # The legend has the bar colour; the empty plot area has none.
    assert pixels_of(plot, BAR_COLOR) == 0
    assert pixels_of(plot, LINE_COLOR) == 0


def test_chart_draws_the_labels_it_is_given():
    labels = chart_labels(report(WEEK), english)
    drawn = decode(PillowChartDrawer().draw(WEEK, labels))
    retitled = decode(PillowChartDrawer().draw(WEEK, dataclasses.replace(labels, title="Another title")))
    title_band, plot = (0, 0, 900, 60), (95, 75, 805, 395)
    assert drawn.crop(title_band).tobytes() != retitled.crop(title_band).tobytes()
    assert drawn.crop(plot).tobytes() == retitled.crop(plot).tobytes()


def test_chart_of_one_day_with_a_landing():
    image = decode(stats_chart_png(report([(date(2026, 11, 26), 4, timedelta(minutes=5))])))
    plot = image.crop((95, 75, 805, 395))
    assert pixels_of(plot, BAR_COLOR) > 1000
    assert pixels_of(plot, LINE_COLOR) > 10  # a single dot


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+1", "'=1+1"),
    ("+31 20 555", "'+31 20 555"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tindent", "'\tindent"),
    ("\rreturn", "'\rreturn"),
    ("A-1=2", "A-1=2"),
    (" =not first", " =not first"),
    ("'already quoted", "'already quoted"),
    ("", ""),
])
def test_spreadsheet_safe_quotes_only_what_could_start_a_formula(cell, safe):
    assert spreadsheet_safe(cell) == safe


def test_every_text_cell_of_an_audit_row_is_safe_and_bot_numbers_stay_numbers():
    hostile = ticket(order_id="=HYPERLINK(\"https://evil.example\")", amount_minor=-500)
    row = TicketAudit(ticket_id=1, actor="agent:42", from_status="needs_review", to_status="needs_info",
                      note="@SUM(1+1)", at=NOW)
    refund = Refund(ticket_id=1, reference="RF-AAAA2222", transaction_id="tx", amount_minor=500,
                    currency="CNY", provider="webhook", status="failed", bank_reference="+1 555",
                    created_at=NOW, updated_at=NOW)
    cells = dict(zip(CSV_COLUMNS, audit_csv_row(hostile, row, refund), strict=True))
    assert cells["order_id"] == "'=HYPERLINK(\"https://evil.example\")"
    assert cells["note"] == "'@SUM(1+1)"
    assert cells["bank_reference"] == "'+1 555"
    # amount and user id are written by the bot from numbers: a sign there is a number's, not a formula
    assert (cells["amount"], cells["user_id"]) == ("-5.00", "7")
