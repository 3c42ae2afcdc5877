"""One cell of a platform's export read as text, money or a time, with the column's own name in errors."""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from handlers.money import KNOWN_CURRENCIES, decimals_of
from handlers.transaction_csv import plausible_charge_time

BEIJING = ZoneInfo("Asia/Shanghai")  # WeChat Pay and Alipay write Beijing time without a zone
MAX_ID = 64  # the longest id the transactions table keeps
# Excel re-saves times as 2026/1/5 9:05; the platforms write 2026-01-05 09:05:00.
_LOOSE_TIME = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def clean(raw: str | None) -> str:
    """The value without padding, trailing tabs or WeChat's leading backtick."""
    value = (raw or "").strip()
    return value[1:].strip() if value.startswith("`") else value


def identifier(raw: str | None, column: str, *, required: bool = True) -> str:
    """An id or name cell, checked for the transactions table."""
    value = clean(raw)
    if required and not value:
        raise ValueError(f"{column} is empty")
    if len(value) > MAX_ID:
        raise ValueError(f"{column} is longer than {MAX_ID} characters")
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{column} contains control characters")
    return value


def currency_code(raw: str | None, column: str) -> str:
    """An ISO 4217 code, whatever its case (Stripe writes `usd`)."""
    code = clean(raw).upper()
    if len(code) != 3 or code not in KNOWN_CURRENCIES:
        raise ValueError(f"{column} {code[:12]!r} is not an ISO 4217 code")
    return code


def decimal_amount(raw: str | None, column: str, currency: str) -> Decimal:
    """An amount in major units (may be negative or zero), at most the currency's decimals."""
    text = clean(raw)
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column} {text[:20]!r} is not a decimal number like 99.00") from None
    if not amount.is_finite():
        raise ValueError(f"{column} {text[:20]!r} is not a decimal number like 99.00")
    places = decimals_of(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{column} {text!r} has more than {places} decimals for {currency}")
    return amount


def minor_units(amount: Decimal, currency: str) -> int:
    """A major-unit amount in minor units (fen, cents)."""
    return int(amount.scaleb(decimals_of(currency)))


def moment(raw: str | None, column: str, zone: ZoneInfo) -> datetime:
    """A time with or without seconds, read in `zone` unless it carries an offset; UTC out."""
    text = clean(raw)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        loose = _LOOSE_TIME.fullmatch(text)
        if not loose:
            raise ValueError(f"{column} {text[:25]!r} is not a time like 2026-11-25 14:32:05") from None
        try:
            year, month, day, hour, minute, second = (int(part or 0) for part in loose.groups())
            parsed = datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise ValueError(f"{column} {text!r} is not a real date and time") from None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    return plausible_charge_time(aware, column).astimezone(UTC)
