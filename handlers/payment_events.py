"""Payment events from the merchant's live feed: every event checked, then how each one moves its charge."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from handlers.transaction_csv import EARLIEST_CHARGE, LATEST_CHARGE, read_row
from storage.models import Transaction, TransactionStatus

MAX_EVENTS = 500
MAX_FIELD_CHARACTERS = 64
EVENT_TYPES = {
    "charge.succeeded": TransactionStatus.SUCCEEDED,
    "charge.failed": TransactionStatus.FAILED,
    "charge.refunded": TransactionStatus.REFUNDED,
    "charge.pending": TransactionStatus.PENDING,
}
REQUIRED_FIELDS = ("type", "transaction_id", "order_id", "amount", "currency", "created_at")
OPTIONAL_FIELDS = ("payer_id", "method")
# Digits, an optional fraction, nothing else: no sign, exponent, underscore or spaces inside.
PLAIN_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")
# Where a charge may go next; an event for any other move is older news, or out of order.
_S = TransactionStatus
LATER_STATES: dict[TransactionStatus, set[TransactionStatus]] = {
    _S.PENDING: {_S.SUCCEEDED, _S.FAILED, _S.REFUNDED},
    _S.SUCCEEDED: {_S.REFUNDED},
    _S.FAILED: set(),
    _S.REFUNDED: set(),
}
IDENTITY = ("order_id", "amount_minor", "currency")  # what an event may never change about a known charge
# A charge's time: none before this, none more than AHEAD after the request (clocks and zones differ).
EARLIEST, LATEST = EARLIEST_CHARGE, LATEST_CHARGE
AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class PaymentEvent:
    """One checked event: the charge it describes and the state it reports."""

    index: int
    transaction_id: str
    order_id: str
    payer_id: str
    amount_minor: int
    currency: str
    status: TransactionStatus
    created_at: datetime
    method: str | None

    def as_row(self) -> dict[str, Any]:
        """The charge as a `transactions` row."""
        return {
            "transaction_id": self.transaction_id, "order_id": self.order_id, "payer_id": self.payer_id,
            "amount_minor": self.amount_minor, "currency": self.currency, "status": self.status.value,
            "created_at": self.created_at, "method": self.method,
        }


class EventsRefused(ValueError):
    """A request with bad events: nothing of it may be stored. `problems` are (event index or None, why)."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__("; ".join(describe(index, reason) for index, reason in problems[:3]))
        self.problems = problems


def describe(index: int | None, reason: str) -> str:
    """A problem as one line naming its event."""
    return reason if index is None else f"events[{index}]: {reason}"


def read_events(
    payload: object, zone: ZoneInfo, *, max_events: int = MAX_EVENTS, now: datetime | None = None
) -> list[PaymentEvent]:
    """One event object or `{"events": [...]}` as checked events, or EventsRefused naming every bad one.

    With `now`, a charge dated more than AHEAD after it is refused.
    """
    if not isinstance(payload, dict):
        raise EventsRefused([(None, "the body must be a JSON object: one event or {\"events\": [...]}")])
    if "events" not in payload:
        raw_events: list[object] = [payload]
    else:
        listed = payload["events"]
        if not isinstance(listed, list) or not listed:
            raise EventsRefused([(None, "events must be a non-empty JSON array of event objects")])
        if len(listed) > max_events:
            raise EventsRefused([(None, f"a batch holds at most {max_events} events, not {len(listed)}")])
        raw_events = listed
    events: list[PaymentEvent] = []
    problems: list[tuple[int | None, str]] = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(read_event(index, raw, zone, now=now))
        except ValueError as problem:
            problems.append((index, str(problem)))
    if problems:
        raise EventsRefused(problems)
    return events


def read_event(index: int, raw: object, zone: ZoneInfo, *, now: datetime | None = None) -> PaymentEvent:
    """One event object, or ValueError saying what is wrong with it (a naive time is read in `zone`)."""
    if not isinstance(raw, dict):
        raise ValueError("an event must be a JSON object")
    texts: dict[str | None, str] = {name: _text_field(raw, name, required=True) for name in REQUIRED_FIELDS}
    texts |= {name: _text_field(raw, name, required=False) for name in OPTIONAL_FIELDS}
    status = EVENT_TYPES.get(texts["type"])
    if status is None:
        raise ValueError(f"type {texts['type']!r} is not one of {', '.join(EVENT_TYPES)}")
    if not PLAIN_DECIMAL.fullmatch(texts["amount"]):
        raise ValueError(f"amount {texts['amount']!r} must be a plain decimal string like \"88.00\"")
    row = read_row({**texts, "status": status.value}, zone)  # the CSV import's checks, word for word
    _check_moment(texts["created_at"], row["created_at"], now)
    return PaymentEvent(
        index=index, transaction_id=row["transaction_id"], order_id=row["order_id"],
        payer_id=row["payer_id"], amount_minor=row["amount_minor"], currency=row["currency"],
        status=status, created_at=row["created_at"], method=row["method"],
    )


def _check_moment(raw: str, moment: datetime, now: datetime | None) -> None:
    """A time a charge could have been made: the monitor adds its window to it, which must not overflow."""
    latest = LATEST if now is None else min(LATEST, now + AHEAD)
    if moment.utcoffset() is None or not EARLIEST <= moment <= latest:
        raise ValueError(f"created_at {raw!r} is not a time a charge could have been made "
                         f"(from {EARLIEST:%Y-%m-%d} to a day after the request)")


def _text_field(raw: dict[str, Any], name: str, *, required: bool) -> str:
    value = raw.get(name)
    if value is None:
        if required:
            raise ValueError(f"{name} is missing")
        return ""
    if not isinstance(value, str):
        if name == "amount" and isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError("amount must be a decimal string like \"88.00\", not a JSON number "
                             "(floats lose cents)")
        raise ValueError(f"{name} must be a string")
    if len(value) > MAX_FIELD_CHARACTERS:
        raise ValueError(f"{name} is longer than {MAX_FIELD_CHARACTERS} characters")
    return value


class Outcome(StrEnum):
    """What an event did to its charge."""

    STORED = "stored"  # a new charge, or a move forward (pending → succeeded → refunded)
    DUPLICATE = "duplicate"  # the charge already says so: nothing changed
    IGNORED = "ignored"  # older news (succeeded after refunded) or a contradiction: nothing changed


@dataclass(frozen=True)
class EventResult:
    """One event's outcome and the state its charge is left in."""

    event: PaymentEvent
    outcome: Outcome
    status: TransactionStatus
    reason: str = ""


@dataclass
class FeedPlan:
    """What a request's events do, in order: rows to add, rows to change, charges that just succeeded."""

    results: list[EventResult] = field(default_factory=list)
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # every charge's row as it will be stored

    def succeeded_charges(self) -> list[Transaction]:
        """The charges that just succeeded, as they will be stored."""
        return [Transaction.model_construct(**self.rows[tid]) for tid in self.succeeded]


def plan_events(events: Sequence[PaymentEvent], known: Mapping[str, Transaction]) -> FeedPlan:
    """Apply the events one after another to the known charges, without writing anything."""
    state: dict[str, dict[str, Any]] = {
        transaction_id: {**charge.model_dump(), "status": TransactionStatus(charge.status)}
        for transaction_id, charge in known.items()
    }
    plan = FeedPlan()
    for event in events:
        charge = state.get(event.transaction_id)
        if charge is None:
            state[event.transaction_id] = {**event.as_row(), "status": event.status}
            plan.results.append(EventResult(event, Outcome.STORED, event.status))
            continue
        plan.results.append(_apply(event, charge))
    for transaction_id in dict.fromkeys(event.transaction_id for event in events):  # in order of arrival
        row = {**state[transaction_id], "status": state[transaction_id]["status"].value}
        plan.rows[transaction_id] = row
        before = known.get(transaction_id)
        if before is None:
            plan.new_rows.append(row)
        elif any(getattr(before, name) != row[name] for name in ("status", "payer_id", "method")):
            plan.changes.append(row)
        just_succeeded = before is None or before.status != row["status"]
        if row["status"] == TransactionStatus.SUCCEEDED and just_succeeded:
            plan.succeeded.append(transaction_id)
    # Written in key order, so two requests touching the same charges wait for each other, never deadlock.
    plan.new_rows.sort(key=lambda row: row["transaction_id"])
    plan.changes.sort(key=lambda row: row["transaction_id"])
    return plan


def _apply(event: PaymentEvent, charge: dict[str, Any]) -> EventResult:
    """One event on a charge already known (stored, or earlier in the same request); changes `charge`."""
    current: TransactionStatus = charge["status"]
    incoming = event.as_row()
    differing = [name for name in IDENTITY if charge[name] != incoming[name]]
    if differing:
        reason = f"{', '.join(differing)} not as recorded for this charge; nothing changed"
        return EventResult(event, Outcome.IGNORED, current, reason)
    if event.status is current:
        return EventResult(event, Outcome.DUPLICATE, current)
    if event.status not in LATER_STATES[current]:
        reason = f"the charge is already {current.value}; a {event.status.value} event is older news"
        return EventResult(event, Outcome.IGNORED, current, reason)
    charge["status"] = event.status
    charge["payer_id"] = charge["payer_id"] or event.payer_id
    charge["method"] = charge["method"] or event.method
    return EventResult(event, Outcome.STORED, event.status)
