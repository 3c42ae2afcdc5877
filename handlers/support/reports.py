"""For the support team: duplicate-charge statistics (text and chart), a CSV export, and the SLA queue."""

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.money import Money
from handlers.ports import ChartLabels
from storage.models import Refund, Ticket, TicketAudit, TicketStatus, id_of
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
        id_of(t): landing
        for t in tickets
        if (landing := time_to_landing(t, refunds.get(id_of(t)))) is not None
    }
    first_actions = [
        delay for t in tickets if (delay := first_action_delay(t, trails.get(id_of(t), []))) is not None
    ]
    return StatsReport(
        days=days,
        since=since,
        by_status=count_by_status(tickets),
        filed=len(tickets),
        duplicates_confirmed=sum(1 for t in tickets if filed_as_verified(trails.get(id_of(t), []))),
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
    if not durations:
        return None
    # statistics.median's arithmetic, which its type stubs allow for numbers only
    ordered, middle = sorted(durations), len(durations) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


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


Say = Callable[..., str]  # a message key and its placeholders → the sentence in the reader's language


def stats_text(report: StatsReport, say: Say) -> str:
    """A short plain-text summary, in the language of `say`."""

    def maybe(duration: timedelta | None) -> str:
        return duration_text(duration) if duration is not None else say("stats.no_data")

    first, last = _period_bounds(report)
    statuses = ", ".join(f"{status} {count}" for status, count in report.by_status.items())
    return "\n".join([
        say("stats.title", days=report.days, day_word=_day_word(report.days, say), first=first, last=last),
        say("stats.counts", filed=report.filed, confirmed=report.duplicates_confirmed,
            landed=report.refunds_landed),
        say("stats.first_action", duration=maybe(report.median_first_action)),
        say("stats.landing", duration=maybe(report.median_time_to_landing)),
        say("stats.by_status", statuses=statuses or say("stats.none")),
    ])


def chart_labels(report: StatsReport, say: Say) -> ChartLabels:
    """The chart's title, axis titles and legend, in the language of `say`."""
    return ChartLabels(
        title=say("stats.chart_title", days=report.days, day_word=_day_word(report.days, say)),
        count_axis=say("stats.chart_count_axis"),
        landing_axis=say("stats.chart_landing_axis"),
        count_legend=say("stats.chart_count_legend"),
        landing_legend=say("stats.chart_landing_legend"),
    )


def _period_bounds(report: StatsReport) -> tuple[str, str]:
    if not report.per_day:
        return report.since.date().isoformat(), report.since.date().isoformat()
    return report.per_day[0][0].isoformat(), report.per_day[-1][0].isoformat()


def _day_word(days: int, say: Say) -> str:
    return say("stats.day_one") if days == 1 else say("stats.day_many")


async def export_csv(session: AsyncSession, *, days: int, now: datetime, zone: ZoneInfo = UTC_ZONE) -> bytes:
    """Every audit entry of the tickets filed in the period, one CSV row each (UTF-8 with BOM for Excel)."""
    since = period_start(days=days, now=now, zone=zone)
    tickets = {id_of(ticket): ticket for ticket in await tickets_created_since(session, since=since)}
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


def sla_state(age: timedelta, sla: timedelta | None) -> str:
    """A waiting ticket's SLA state: breached once the SLA is reached, due soon past 75% of it, else ok."""
    if sla is None:
        return "off"
    if age >= sla:
        return "breached"
    if age > sla * SLA_WARNING_SHARE:
        return "due soon"
    return "ok"


def queue_entry(ticket: Ticket, *, now: datetime, sla: timedelta | None) -> tuple[str, str, str]:
    """(reference, age like "3h 20m", SLA state) of a ticket waiting in the support queue."""
    age = max(now - ticket.created_at, timedelta(0))
    return ticket.reference, duration_text(age), sla_state(age, sla)
