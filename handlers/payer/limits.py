"""How much one payer may report: a few open tickets at a time, a few reports a day."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.payer.turn import Turn
from handlers.texts import format_moment
from storage.tickets import FilingRecord, filing_record

REPORT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Refusal:
    """Why the payer may not report now: a message key and its placeholders."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


async def report_refusal(turn: Turn) -> Refusal | None:
    """The reason this payer may not file another report now, or None if they may."""
    return refusal_given(turn, await filing_record_of(turn))


async def filing_record_of(turn: Turn) -> FilingRecord:
    """The payer's open tickets and recent filings, as far as the limits look (one query)."""
    return await filing_record(
        turn.session, user_id=turn.user.id, since=turn.now - REPORT_WINDOW,
        limit=turn.rules.max_reports_per_day,
    )


def refusal_given(turn: Turn, record: FilingRecord) -> Refusal | None:
    """The reason this payer may not file another report now, from their filing record; None if they may."""
    rules, filed = turn.rules, record.recent
    if record.open_count >= rules.max_open_tickets:
        return Refusal("limit.open_tickets", {"limit": rules.max_open_tickets})
    if len(filed) >= rules.max_reports_per_day:
        # The window rolls: one more report is allowed once the oldest of the last `limit` leaves it.
        again = format_moment(_next_minute(filed[-1] + REPORT_WINDOW), rules.zone, turn.locale)
        return Refusal("limit.reports_per_day", {"limit": rules.max_reports_per_day, "again": again})
    return None


def _next_minute(moment: datetime) -> datetime:
    """The moment rounded up to a whole minute (times are shown without seconds)."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)
