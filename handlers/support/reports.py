"""For the support team: duplicate-charge statistics (text and chart), a CSV export, and the SLA queue."""

import csv
import io
import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.money import Money
from storage.models import Refund, Ticket, TicketAudit, TicketStatus
from storage.support_queries import audit_since, refunds_of, tickets_created_since

UTC_ZONE = ZoneInfo("UTC")
FIRST_ACTION_ACTORS = ("agent:", "policy:")
SLA_WARNING_SHARE = 0.75
KNOWN_STATUSES = frozenset(status.value for status in TicketStatus)

CSV_COLUMNS = (
    "reference", "order_id", "user_id", "amount", "currency", "status", "created_at", "event_at", "actor",
    "from_status", "to_status", "note", "refund_status", "refund_landed_at", "bank_reference",
)
# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Numbers the bot writes itself (from an int or a Decimal): a leading "-" there is a sign, never a formula.
NUMBER_COLUMNS = frozenset({"user_id", "amount"})

STATS_TEXTS = {
    "stats.title": "Duplicate-charge tickets, last {days} {day_word} ({first} – {last})",
    "stats.counts": "Filed: {filed} · confirmed duplicates: {confirmed} · refunds landed: {landed}",
    "stats.first_action": "First action (median): {duration}",
    "stats.landing": "Filing to landing (median): {duration}",
    "stats.by_status": "By status: {statuses}",
    "stats.none": "none",
    "stats.no_data": "n/a",
}


@dataclass
class StatsReport:
    """How duplicate-charge tickets filed in the last `days` days fared."""

    days: int
    since: datetime
    by_status: dict[str, int]
    filed: int
    duplicates_confirmed: int
    refunds_landed: int
    median_first_action: timedelta | None
    median_time_to_landing: timedelta | None
    per_day: list[tuple[date, int, timedelta | None]]


def period_days(*, days: int, now: datetime, zone: ZoneInfo) -> list[date]:
    """The last `days` calendar days in `zone`, today included, oldest first."""
    if days < 1:
        raise ValueError(f"a report covers at least one day, not {days}")
    today = now.astimezone(zone).date()
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def period_start(*, days: int, now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight (in `zone`) of the first day of the period, in UTC."""
    first_day = period_days(days=days, now=now, zone=zone)[0]
    return datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)


async def build_stats(session: AsyncSession, *, days: int, now: datetime, zone: ZoneInfo) -> StatsReport:
    """Figures on the tickets filed in the last `days` calendar days of `zone`."""
    since = period_start(days=days, now=now, zone=zone)
    tickets = await tickets_created_since(session, since=since)
    trails = trails_by_ticket(await audit_since(session, since=since))
    refunds = {refund.ticket_id: refund for refund in await refunds_of(session, ticket_ids=ids_of(tickets))}
    landings = {
        t.id: landing for t in tickets if (landing := time_to_landing(t, refunds.get(t.id))) is not None
    }
    first_actions = [
        delay for t in tickets if (delay := first_action_delay(t, trails.get(t.id, []))) is not None
    ]
    return StatsReport(
        days=days,
        since=since,
        by_status=count_by_status(tickets),
        filed=len(tickets),
        duplicates_confirmed=sum(1 for t in tickets if filed_as_verified(trails.get(t.id, []))),
        refunds_landed=len(landings),
        median_first_action=median_duration(first_actions),
        median_time_to_landing=median_duration(list(landings.values())),
        per_day=tickets_per_day(tickets, landings, days=period_days(days=days, now=now, zone=zone),
                                zone=zone),
    )


def ids_of(tickets: Iterable[Ticket]) -> list[int]:
    """The tickets' ids."""
    return [ticket.id for ticket in tickets if ticket.id is not None]


def trails_by_ticket(audit: Iterable[TicketAudit]) -> dict[int, list[TicketAudit]]:
    """Audit rows grouped per ticket, each trail in order of writing."""
    trails: dict[int, list[TicketAudit]] = defaultdict(list)
    for row in sorted(audit, key=lambda row: (row.ticket_id, row.id or 0)):
        trails[row.ticket_id].append(row)
    return dict(trails)


def count_by_status(tickets: Iterable[Ticket]) -> dict[str, int]:
    """How many tickets stand in each status, in the order of the status vocabulary."""
    counts = Counter(str(ticket.status) for ticket in tickets)
    known = [status.value for status in TicketStatus if counts[status.value]]
    unknown = sorted(status for status in counts if status not in KNOWN_STATUSES)
    return {status: counts[status] for status in [*known, *unknown]}


def filed_as_verified(trail: Sequence[TicketAudit]) -> bool:
    """Whether the ticket's first audit row put it straight into `verified` (a confirmed duplicate)."""
    return bool(trail) and trail[0].to_status == TicketStatus.VERIFIED


def first_action_delay(ticket: Ticket, trail: Iterable[TicketAudit]) -> timedelta | None:
    """From filing to the first step taken by an agent or a policy, if one was taken."""
    for row in trail:
        if row.actor.startswith(FIRST_ACTION_ACTORS):
            return max(row.at - ticket.created_at, timedelta(0))
    return None


def time_to_landing(ticket: Ticket, refund: Refund | None) -> timedelta | None:
    """From filing to the refund landing, if it landed."""
    if refund is None or refund.landed_at is None:
        return None
    return max(refund.landed_at - ticket.created_at, timedelta(0))


def median_duration(durations: Sequence[timedelta]) -> timedelta | None:
    """The median of some durations; None when there are none."""
    return statistics.median(durations) if durations else None


def tickets_per_day(
    tickets: Iterable[Ticket], landings: dict[int, timedelta], *, days: Sequence[date], zone: ZoneInfo
) -> list[tuple[date, int, timedelta | None]]:
    """Per local day: tickets filed that day and the median time to landing of those tickets."""
    filed: dict[date, list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        filed[ticket.created_at.astimezone(zone).date()].append(ticket)
    return [
        (day, len(filed[day]), median_duration([landings[t.id] for t in filed[day] if t.id in landings]))
        for day in days
    ]


def duration_text(duration: timedelta) -> str:
    """A duration the way people say it: "2d 4h", "3h 20m", "20m", "45s"."""
    seconds = max(int(duration.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def stats_text(report: StatsReport, texts_get: Callable[[str], str] | None = None) -> str:
    """A short plain-text summary; `texts_get` maps a key to a template for another language."""

    def say(key: str, **params: object) -> str:
        template = texts_get(key) if texts_get else STATS_TEXTS[key]
        # A catalog without the key hands the key back; fall back to English then.
        return (STATS_TEXTS[key] if template in ("", key) else template).format(**params)

    def maybe(duration: timedelta | None) -> str:
        return duration_text(duration) if duration is not None else say("stats.no_data")

    first, last = _period_bounds(report)
    statuses = ", ".join(f"{status} {count}" for status, count in report.by_status.items())
    return "\n".join([
        say("stats.title", days=report.days, day_word=_day_word(report.days), first=first, last=last),
        say("stats.counts", filed=report.filed, confirmed=report.duplicates_confirmed,
            landed=report.refunds_landed),
        say("stats.first_action", duration=maybe(report.median_first_action)),
        say("stats.landing", duration=maybe(report.median_time_to_landing)),
        say("stats.by_status", statuses=statuses or say("stats.none")),
    ])


def _period_bounds(report: StatsReport) -> tuple[str, str]:
    if not report.per_day:
        return report.since.date().isoformat(), report.since.date().isoformat()
    return report.per_day[0][0].isoformat(), report.per_day[-1][0].isoformat()


def _day_word(days: int) -> str:
    return "day" if days == 1 else "days"


CHART_SIZE = (900, 500)
PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM = 90, 70, 810, 400
TICKS = 5
MAX_DAY_LABELS = 15
BAR_COLOR = (66, 133, 244)
LINE_COLOR = (230, 110, 20)
AXIS_COLOR = (70, 70, 70)
GRID_COLOR = (228, 228, 228)
TEXT_COLOR = (33, 33, 33)


def stats_chart_png(report: StatsReport) -> bytes:
    """A PNG: tickets filed per day as bars, median hours to landing as a line on a second scale."""
    image = Image.new("RGB", CHART_SIZE, "white")
    draw = ImageDraw.Draw(image)
    counts = [count for _, count, _ in report.per_day]
    hours = [_hours(median) for _, _, median in report.per_day]
    count_step = _nice_step(max(counts, default=0), smallest=1)
    hours_step = _nice_step(max((h for h in hours if h is not None), default=0), smallest=0.1)
    _draw_title(draw, f"Duplicate-charge tickets, last {report.days} {_day_word(report.days)}")
    _draw_scales(draw, count_step, hours_step)
    slots = _slot_centers(len(report.per_day))
    _draw_bars(draw, slots, counts, count_step * TICKS)
    _draw_landing_line(draw, slots, hours, hours_step * TICKS)
    _draw_day_labels(draw, slots, [day for day, _, _ in report.per_day])
    _draw_axis_titles(image)
    _draw_legend(draw)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() / 3600


def _nice_step(maximum: float, *, smallest: float) -> float:
    """The smallest 1-2-5 step (at least `smallest`) whose TICKS steps cover `maximum`."""
    step, factors = smallest, (2, 2.5, 2)
    index = 0
    while step * TICKS < maximum:
        step = round(step * factors[index % 3], 6)
        index += 1
    return step


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _plot_height() -> int:
    return PLOT_BOTTOM - PLOT_TOP


def _y_of(value: float, top_value: float) -> float:
    return PLOT_BOTTOM - _plot_height() * (value / top_value if top_value else 0)


def _draw_title(draw: ImageDraw.ImageDraw, title: str) -> None:
    draw.text((CHART_SIZE[0] / 2, 30), title, font=_font(22), fill=TEXT_COLOR, anchor="mm")


def _draw_scales(draw: ImageDraw.ImageDraw, count_step: float, hours_step: float) -> None:
    font = _font(13)
    for tick in range(TICKS + 1):
        y = _y_of(tick, TICKS)
        if tick:
            draw.line([(PLOT_LEFT, y), (PLOT_RIGHT, y)], fill=GRID_COLOR)
        draw.text((PLOT_LEFT - 8, y), _tick_label(count_step * tick), font=font, fill=BAR_COLOR, anchor="rm")
        draw.text((PLOT_RIGHT + 8, y), _tick_label(round(hours_step * tick, 6)), font=font, fill=LINE_COLOR,
                  anchor="lm")
    draw.line([(PLOT_LEFT, PLOT_TOP), (PLOT_LEFT, PLOT_BOTTOM), (PLOT_RIGHT, PLOT_BOTTOM),
               (PLOT_RIGHT, PLOT_TOP)], fill=AXIS_COLOR, width=1)


def _slot_centers(count: int) -> list[tuple[float, float]]:
    """(x of the centre, slot width) for each day."""
    width = (PLOT_RIGHT - PLOT_LEFT) / max(count, 1)
    return [(PLOT_LEFT + width * (index + 0.5), width) for index in range(count)]


def _draw_bars(draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]], counts: list[int],
               top_value: float) -> None:
    font = _font(12)
    for (x, width), count in zip(slots, counts, strict=True):
        if not count:
            continue
        half = min(width * 0.3, 30)
        top = _y_of(count, top_value)
        draw.rectangle([(x - half, top), (x + half, PLOT_BOTTOM - 1)], fill=BAR_COLOR)
        if width >= 22:
            draw.text((x, top - 4), str(count), font=font, fill=TEXT_COLOR, anchor="mb")


def _draw_landing_line(draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]],
                       hours: list[float | None], top_value: float) -> None:
    points = [None if h is None else (x, _y_of(h, top_value)) for (x, _), h in zip(slots, hours, strict=True)]
    for start, end in itertools.pairwise(points):
        if start and end:
            draw.line([start, end], fill=LINE_COLOR, width=3)
    for point in points:
        if point:
            x, y = point
            draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=LINE_COLOR, outline="white")


def _draw_day_labels(draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]], days: list[date]) -> None:
    font = _font(12)
    every = math.ceil(len(days) / MAX_DAY_LABELS) or 1
    for index, ((x, _), day) in enumerate(zip(slots, days, strict=True)):
        # Counted from the last day, so today always has its label.
        if (len(days) - 1 - index) % every == 0:
            draw.line([(x, PLOT_BOTTOM), (x, PLOT_BOTTOM + 4)], fill=AXIS_COLOR)
            draw.text((x, PLOT_BOTTOM + 8), f"{day:%m-%d}", font=font, fill=TEXT_COLOR, anchor="mt")


def _draw_axis_titles(image: Image.Image) -> None:
    font = _font(14)
    middle = (PLOT_TOP + PLOT_BOTTOM) / 2
    _paste_rotated_text(image, "Tickets filed", font, BAR_COLOR, center=(30, middle), angle=90)
    right_middle = (CHART_SIZE[0] - 30, middle)
    _paste_rotated_text(image, "Median hours to landing", font, LINE_COLOR, center=right_middle, angle=270)


def _paste_rotated_text(image: Image.Image, text: str, font, color: tuple[int, int, int], *,
                        center: tuple[float, float], angle: int) -> None:
    _, _, right, bottom = font.getbbox(text)
    label = Image.new("RGBA", (int(right) + 2, int(bottom) + 2), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((0, 0), text, font=font, fill=color)
    rotated = label.rotate(angle, expand=True)
    corner = (int(center[0] - rotated.width / 2), int(center[1] - rotated.height / 2))
    image.paste(rotated, corner, rotated)


def _draw_legend(draw: ImageDraw.ImageDraw) -> None:
    font = _font(13)
    y = CHART_SIZE[1] - 40
    bar_text, line_text = "Tickets filed per day", "Median hours to landing"
    bar_width = draw.textlength(bar_text, font=font)
    line_width = draw.textlength(line_text, font=font)
    x = (CHART_SIZE[0] - (14 + 6 + bar_width + 30 + 24 + 6 + line_width)) / 2
    draw.rectangle([(x, y - 7), (x + 14, y + 7)], fill=BAR_COLOR)
    draw.text((x + 20, y), bar_text, font=font, fill=TEXT_COLOR, anchor="lm")
    x += 20 + bar_width + 30
    draw.line([(x, y), (x + 24, y)], fill=LINE_COLOR, width=3)
    draw.ellipse([(x + 8, y - 4), (x + 16, y + 4)], fill=LINE_COLOR)
    draw.text((x + 30, y), line_text, font=font, fill=TEXT_COLOR, anchor="lm")


async def export_csv(session: AsyncSession, *, days: int, now: datetime, zone: ZoneInfo = UTC_ZONE) -> bytes:
    """Every audit entry of the tickets filed in the period, one CSV row each (UTF-8 with BOM for Excel)."""
    since = period_start(days=days, now=now, zone=zone)
    tickets = {ticket.id: ticket for ticket in await tickets_created_since(session, since=since)}
    audit = await audit_since(session, since=since)
    refunds = {refund.ticket_id: refund for refund in await refunds_of(session, ticket_ids=list(tickets))}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in audit:
        ticket = tickets.get(row.ticket_id)
        if ticket is not None:
            writer.writerow(audit_csv_row(ticket, row, refunds.get(row.ticket_id)))
    return buffer.getvalue().encode("utf-8-sig")


def spreadsheet_safe(cell: str) -> str:
    """The cell as text a spreadsheet shows and never runs: a would-be formula gets a leading quote."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def audit_csv_row(ticket: Ticket, row: TicketAudit, refund: Refund | None) -> list[str]:
    """One audit entry with its ticket and refund, as the CSV columns, every text cell spreadsheet-safe."""
    cells = [
        ticket.reference,
        ticket.order_id or "",
        str(ticket.user_id),
        str(Money.from_minor(ticket.amount_minor, ticket.currency).amount),
        ticket.currency,
        ticket.status,
        ticket.created_at.isoformat(),
        row.at.isoformat(),
        row.actor,
        row.from_status or "",
        row.to_status,
        row.note,
        refund.status if refund else "",
        refund.landed_at.isoformat() if refund and refund.landed_at else "",
        (refund.bank_reference or "") if refund else "",
    ]
    return [
        cell if column in NUMBER_COLUMNS else spreadsheet_safe(cell)
        for column, cell in zip(CSV_COLUMNS, cells, strict=True)
    ]


def sla_state(age: timedelta, sla: timedelta) -> str:
    """A waiting ticket's SLA state: breached once the SLA is reached, due soon past 75% of it, else ok."""
    if age >= sla:
        return "breached"
    if age > sla * SLA_WARNING_SHARE:
        return "due soon"
    return "ok"


def queue_entry(ticket: Ticket, *, now: datetime, sla: timedelta) -> tuple[str, str, str]:
    """(reference, age like "3h 20m", SLA state) of a ticket waiting in the support queue."""
    age = max(now - ticket.created_at, timedelta(0))
    return ticket.reference, duration_text(age), sla_state(age, sla)
