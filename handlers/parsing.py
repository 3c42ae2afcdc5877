"""Reading what a payer types: order numbers, amounts and payment times."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import dateparser

from handlers.money import KNOWN_CURRENCIES, Money, decimals_of

ORDER_MAX_LENGTH = 64
MAX_AMOUNT = Decimal(1_000_000)
CLOCK_SKEW = timedelta(minutes=5)

ORDER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.#]*")
AMOUNT_PATTERN = re.compile(
    r"^(?P<before>[^\d\s.,'-]+)?\s*(?P<number>[\d][\d.,' ]*)\s*(?P<after>[^\d\s.,']+)?$"
)
# Symbols and words payers write around an amount; "¥" means the default currency when that is JPY.
CURRENCY_WORDS = {
    "¥": "CNY", "元": "CNY", "块": "CNY", "塊": "CNY", "rmb": "CNY", "人民币": "CNY",
    "cn¥": "CNY", "$": "USD", "us$": "USD", "usd": "USD", "美元": "USD", "€": "EUR",
    "£": "GBP", "hk$": "HKD", "港币": "HKD", "₩": "KRW", "₹": "INR", "円": "JPY",
}
TIME_GIVEN = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}|\d\s*(am|pm|a\.m\.|p\.m\.)|[点點时時]", re.I)
CHINESE_HOUR = re.compile(
    r"(?P<part>凌晨|早上|上午|中午|下午|傍晚|晚上)?\s*(?P<hour>[0-9一二两三四五六七八九十]{1,3})\s*[点點时時]"
    r"(?:\s*(?P<minute>半|[0-9]{1,2})\s*分?)?"
)
CHINESE_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                    "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12}
AFTERNOON = {"下午", "傍晚", "晚上"}
CHINESE_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?")
CHINESE_MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?")


class InputRejected(ValueError):
    """The payer's input cannot be used; `key` names the message that says why."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in text)


def parse_order_number(text: str) -> str:
    """An order number: letters, digits and - _ / . #, at most 64 characters."""
    value = _normalize(text)
    if not value:
        raise InputRejected("order.empty")
    if _has_control_characters(value):
        raise InputRejected("order.control_characters")
    if len(value) > ORDER_MAX_LENGTH:
        raise InputRejected("order.too_long", max=ORDER_MAX_LENGTH, length=len(value))
    if not ORDER_PATTERN.fullmatch(value):
        raise InputRejected("order.bad_characters")
    return value


def _currency_of(token: str | None, default_currency: str) -> str | None:
    if not token:
        return None
    word = token.strip().lower()
    if word == "¥" and default_currency == "JPY":
        return "JPY"
    if word in CURRENCY_WORDS:
        return CURRENCY_WORDS[word]
    if word.upper() in KNOWN_CURRENCIES and len(word) == 3:
        return word.upper()
    raise InputRejected("amount.not_a_number")


def parse_amount(text: str, *, default_currency: str) -> Money:
    """An amount with an optional currency: 99, 99.00, ¥99, 99元, $49.99, 1,299.50, ９９."""
    value = _normalize(text)
    if not value:
        raise InputRejected("amount.empty")
    lowered = value.lower()
    if "nan" in lowered or "inf" in lowered:
        raise InputRejected("amount.not_a_number")
    if value.startswith(("-", "−")) or re.search(r"[^\d\s]\s*-\s*\d", value):
        raise InputRejected("amount.negative")
    match = AMOUNT_PATTERN.match(value)
    if not match or (match["before"] and match["after"]):
        raise InputRejected("amount.not_a_number")
    currency = _currency_of(match["before"] or match["after"], default_currency)
    currency = currency or default_currency
    amount = read_number(match["number"])
    if amount == 0:
        raise InputRejected("amount.zero")
    if amount > MAX_AMOUNT:
        raise InputRejected("amount.too_large")
    places = decimals_of(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InputRejected("amount.too_many_decimals", currency=currency, places=places)
    return Money(amount.quantize(Decimal(1).scaleb(-places)), currency)


def read_number(text: str) -> Decimal:
    """Digits with thousands separators and one decimal separator: 1,299.50, 1.299,50, 99,5."""
    digits = re.sub(r"[\s']", "", text)
    separators = [c for c in digits if c in ".,"]
    decimal_mark = None
    if len(set(separators)) == 2:
        decimal_mark = separators[-1]
    elif len(separators) == 1:
        head, _, tail = digits.partition(separators[0])
        # "1,299" is a thousand; "99,5" and "99.001" keep their decimals (the latter is refused later).
        thousands = separators[0] == "," and len(tail) == 3 and head != "0"
        decimal_mark = None if thousands else separators[0]
    if decimal_mark and separators.count(decimal_mark) > 1:
        raise InputRejected("amount.not_a_number")
    whole, _, fraction = digits.partition(decimal_mark) if decimal_mark else (digits, "", "")
    whole = whole.replace(",", "").replace(".", "")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise InputRejected("amount.not_a_number")
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation as error:
        raise InputRejected("amount.not_a_number") from error


def _chinese_hour(match: re.Match[str]) -> str:
    raw = match["hour"]
    hour = int(raw) if raw.isdigit() else CHINESE_NUMERALS.get(raw, 99)
    if match["part"] in AFTERNOON and hour < 12:
        hour += 12
    if match["part"] == "中午" and hour < 6:
        hour += 12
    minute = match["minute"]
    minutes = 30 if minute == "半" else int(minute or 0)
    if hour > 23 or minutes > 59:
        raise InputRejected("paid_at.unreadable")
    return f" {hour:02d}:{minutes:02d} "


@dataclass(frozen=True)
class PaymentTime:
    """When the payer paid; `day_only` when they gave a date without a time."""

    moment: datetime
    day_only: bool


def check_payment_time(
    moment: datetime, *, day_only: bool, now: datetime, zone: ZoneInfo, window_days: int
) -> PaymentTime:
    """Refuse times in the future or older than the refund window."""
    local_today = now.astimezone(zone).date()
    if day_only:
        if moment.astimezone(zone).date() > local_today:
            raise InputRejected("paid_at.future")
    elif moment > now + CLOCK_SKEW:
        raise InputRejected("paid_at.future")
    if moment < now - timedelta(days=window_days):
        raise InputRejected("paid_at.too_old", days=window_days)
    return PaymentTime(moment, day_only)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of a day in the zone, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def parse_payment_time(
    text: str, *, now: datetime, zone: ZoneInfo, window_days: int
) -> PaymentTime:
    """A payment time typed in English or Chinese, read in the configured zone."""
    value = _normalize(text)
    if not value:
        raise InputRejected("paid_at.empty")
    if _has_control_characters(value) or len(value) > 100:
        raise InputRejected("paid_at.unreadable")
    day_only = not TIME_GIVEN.search(value)
    value = CHINESE_HOUR.sub(_chinese_hour, value)
    value = CHINESE_FULL_DATE.sub(r"\1-\2-\3 ", value)
    value = CHINESE_MONTH_DAY.sub(r"\1/\2 ", value).strip()
    settings = {
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
    }
    try:
        moment = dateparser.parse(value, languages=["en", "zh"], settings=settings)
    except (ValueError, OverflowError) as error:
        raise InputRejected("paid_at.unreadable") from error
    if moment is None:
        raise InputRejected("paid_at.unreadable")
    if day_only:
        moment = day_start(moment.date(), zone)
    return check_payment_time(moment, day_only=day_only, now=now, zone=zone, window_days=window_days)
