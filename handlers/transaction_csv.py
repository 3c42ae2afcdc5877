"""Reading the merchant's transaction export (CSV): every row checked before anything is saved."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from handlers.money import KNOWN_CURRENCIES, Money, decimals_of
from storage.models import TransactionStatus

COLUMNS = ("transaction_id", "order_id", "payer_id", "amount", "currency", "status", "created_at")
TELEGRAM_ID = "telegram_id"  # optional column: links the payer to a Telegram user
STATUSES = {s.value for s in TransactionStatus}
EARLIEST_CHARGE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_CHARGE = datetime(2100, 1, 1, tzinfo=UTC)
# A row as csv.DictReader gives it: extra fields land under the key None.
CsvRow = Mapping[str | None, Any]


@dataclass
class CsvReport:
    """Rows ready to save, and the problems found (line number, reason)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def check_header(header: list[str] | None) -> str | None:
    """Why the header is unusable, or None if it has every required column."""
    if not header:
        return "the file is empty (expected a header line)"
    missing = [c for c in COLUMNS if c not in [h.strip() for h in header]]
    if missing:
        return f"the header lacks {', '.join(missing)} (expected {','.join(COLUMNS)})"
    return None


def _text(row: CsvRow, column: str, *, required: bool = True) -> str:
    value = (row.get(column) or "").strip()
    if required and not value:
        raise ValueError(f"{column} is empty")
    if len(value) > 64:
        raise ValueError(f"{column} is longer than 64 characters")
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{column} contains control characters")
    return value


def _amount(raw: str, currency: str) -> Money:
    try:
        amount = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"amount {raw!r} is not a decimal number like 99.00") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {raw!r} must be a positive number")
    places = decimals_of(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"amount {raw!r} has more than {places} decimals for {currency}")
    return Money(amount, currency)


def plausible_charge_time(moment: datetime, column: str) -> datetime:
    """The (aware) time as it is, if a payment could have been made then; ValueError otherwise.

    Far-off years are refused before anything adds a window to them and overflows.
    """
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_CHARGE <= utc < LATEST_CHARGE:
        raise ValueError(f"{column} {moment.isoformat()} is not a plausible payment time (2000 to 2099)")
    return moment


def _created_at(raw: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"created_at {raw!r} is not an ISO 8601 time") from None
    return plausible_charge_time(moment if moment.tzinfo else moment.replace(tzinfo=zone), "created_at")


def read_row(row: CsvRow, zone: ZoneInfo) -> dict[str, Any]:
    """One CSV row as a transaction, or ValueError saying what is wrong."""
    currency = _text(row, "currency").upper()
    if currency not in KNOWN_CURRENCIES or len(currency) != 3:
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    status = _text(row, "status").lower()
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(sorted(STATUSES))}")
    return {
        "transaction_id": _text(row, "transaction_id"),
        "order_id": _text(row, "order_id"),
        "payer_id": _text(row, "payer_id", required=False),
        "amount_minor": _amount(row.get("amount") or "", currency).minor,
        "currency": currency,
        "status": status,
        "created_at": _created_at(row.get("created_at") or "", zone),
        "method": _method(row.get("method")),
        TELEGRAM_ID: _telegram_id(row.get(TELEGRAM_ID), payer_id=(row.get("payer_id") or "").strip()),
    }


def _telegram_id(raw: str | None, *, payer_id: str) -> int | None:
    """The optional Telegram user id of the payer: it links that Telegram user to `payer_id`."""
    value = (raw or "").strip()
    if not value:
        return None
    if not payer_id:
        raise ValueError("telegram_id needs a payer_id on the same row")
    if not value.isdigit() or len(value) > 15:
        raise ValueError(f"telegram_id {value[:20]!r} must be a Telegram user id (digits)")
    return int(value)


def _method(raw: str | None) -> str | None:
    """The optional payment method (card, wallet …) that sets the expected refund time."""
    value = (raw or "").strip().lower()
    if not value:
        return None
    if len(value) > 16 or not value.replace("_", "").isalnum():
        raise ValueError(f"method {value[:20]!r} must be a short word like card or wallet")
    return value


def read_rows(numbered_rows: Iterable[tuple[int, CsvRow]], zone: ZoneInfo) -> CsvReport:
    """Check every row; a transaction_id may appear once per file."""
    report = CsvReport()
    seen: dict[str, int] = {}  # transaction_id -> first line
    for line, row in numbered_rows:
        if None in row:
            report.problems.append((line, "the row has more fields than the header"))
            continue
        try:
            transaction = read_row(row, zone)
        except ValueError as error:
            report.problems.append((line, str(error)))
            continue
        first = seen.setdefault(transaction["transaction_id"], line)
        if first != line:
            report.problems.append((line, f"transaction_id repeats line {first}"))
            continue
        report.rows.append(transaction)
    return report
