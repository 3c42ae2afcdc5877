"""Reading what a payer types: order numbers, amounts and payment times."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import dateparser

from handlers.chinese_numerals import with_arabic_digits
from handlers.money import KNOWN_CURRENCIES, Money, decimals_of
from handlers.typed_times import CLOCK_SKEW, AmbiguousDate, TypedTime, read_typed_time

ORDER_MAX_LENGTH = 64
AMOUNT_MAX_LENGTH = 64
TIME_MAX_LENGTH = 100
MAX_AMOUNT = Decimal(1_000_000)

ORDER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.#]*")
# "订单号：2026…", "Order #8841", "order no. 8841", "#8841": the label is not part of the number.
ORDER_LABEL = re.compile(
    r"^(?:(?:订单号|订单编号|单号)\s*:?|(?:order\s*(?:no\.?|number|id)?)\s*[:#]|order\s+(?:no\.?|number|id)|#)\s*",
    re.I,
)
# Symbols and words payers write around an amount; "¥" means the default currency when that is JPY.
CURRENCY_WORDS = {
    "¥": "CNY", "cn¥": "CNY", "rmb": "CNY", "人民币": "CNY", "yuan": "CNY", "renminbi": "CNY",
    "$": "USD", "us$": "USD", "dollar": "USD", "dollars": "USD", "us dollars": "USD", "bucks": "USD",
    "美元": "USD", "美金": "USD", "€": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR", "£": "GBP",
    "pound": "GBP", "pounds": "GBP", "英镑": "GBP", "hk$": "HKD", "港币": "HKD", "港元": "HKD",
    "nt$": "TWD", "台币": "TWD", "新台币": "TWD", "円": "JPY", "日元": "JPY", "yen": "JPY", "₩": "KRW",
    "韩元": "KRW", "₹": "INR", "rupees": "INR", "a$": "AUD", "au$": "AUD", "ca$": "CAD", "s$": "SGD",
}
_CURRENCY = "|".join(re.escape(w) for w in sorted(CURRENCY_WORDS, key=len, reverse=True))
LEADING_CURRENCY = re.compile(rf"^(?P<word>{_CURRENCY}|[a-z]{{3}}(?![a-z]))\s*")
TRAILING_CURRENCY = re.compile(rf"\s*(?P<word>{_CURRENCY}|(?<![a-z])[a-z]{{3}})$")
AMOUNT_LABEL = re.compile(
    r"^(?:实付款|实付金额|实付|实收|支付金额|付款金额|订单金额|交易金额|扣款金额|金额|合计|总计|总额|共计|扣款|扣了|"
    r"付了|total|amount|price|paid|charged|i paid|i was charged)\s*:?\s*"
)
NUMBER = r"\d+(?:[.,' ]\d+)*"
# 99, 1.5万, 99元, 九十九块五 (99块5), 一百二十三元四角 (123元4角), 五毛, 九块九毛九, 十块零五分, 99元整.
MONEY_SPOKEN = re.compile(
    rf"(?P<major>{NUMBER})?\s*(?P<multiplier>[万千])?\s*(?:(?P<unit>[元块圆])\s*钱?)?\s*"
    r"(?:零?\s*(?P<jiao>\d)\s*[角毛]\s*钱?)?\s*(?:零?\s*(?P<fen>\d)\s*分\s*钱?)?\s*(?P<tail>\d)?\s*整?"
)
TIME_GIVEN = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}|\d\s*(am|pm|a\.m\.|p\.m\.)|noon|midnight|ago|\bnow\b", re.I)
HAS_CHINESE = re.compile(r"[\u3400-\u9fff]")


class InputRejected(ValueError):
    """The payer's input cannot be used; `key` names the message that says why."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


def bounded(text: str | None, *, limit: int, field: str) -> str:
    """The text without surrounding spaces, refused before any parsing when longer than `limit`."""
    value = (text or "").strip()
    if len(value) > limit:
        raise InputRejected(f"{field}.too_long", max=limit, length=len(value))
    return value


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _cleaned(text: str) -> str:
    """NFKC (full-width digits and signs to ASCII), pasted zero-width and direction marks dropped."""
    value = "".join(c for c in _normalize(text) if unicodedata.category(c) != "Cf")
    return " ".join(value.split())


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in text)


def parse_order_number(text: str) -> str:
    """An order number: letters, digits and - _ / . #, at most 64 characters."""
    value = _normalize(bounded(text, limit=ORDER_MAX_LENGTH, field="order"))
    if not value:
        raise InputRejected("order.empty")
    if _has_control_characters(value):
        raise InputRejected("order.control_characters")
    value = ORDER_LABEL.sub("", value)
    if not value:
        raise InputRejected("order.empty")
    if len(value) > ORDER_MAX_LENGTH:
        raise InputRejected("order.too_long", max=ORDER_MAX_LENGTH, length=len(value))
    if not ORDER_PATTERN.fullmatch(value):
        raise InputRejected("order.bad_characters")
    return value


# --- amounts ------------------------------------------------------------------------------


def _currency_of(word: str, default_currency: str) -> str:
    if word == "¥" and default_currency == "JPY":
        return "JPY"
    if word in CURRENCY_WORDS:
        return CURRENCY_WORDS[word]
    if word.upper() in KNOWN_CURRENCIES:
        return word.upper()
    raise InputRejected("amount.not_a_number")


def _is_negative(text: str) -> bool:
    return text.startswith(("-", "−", "–", "负")) or bool(re.match(r"[^\d\s]{1,8}\s*[-−–]\s*\d", text))


def _split_currency(text: str, default_currency: str) -> tuple[str, list[str]]:
    """The number part, and the currencies written before and after it."""
    currencies: list[str] = []
    leading = LEADING_CURRENCY.match(text)
    if leading:
        currencies.append(_currency_of(leading["word"], default_currency))
        text = text[leading.end():]
    trailing = TRAILING_CURRENCY.search(text)
    if trailing and trailing.start() > 0:
        currencies.append(_currency_of(trailing["word"], default_currency))
        text = text[: trailing.start()]
    return text.strip(), currencies


def parse_amount(text: str, *, default_currency: str) -> Money:
    """An amount as people type it: 99, ¥99, 99元整, 九十九块五, $49.99, 49.99 USD, 1,299.50, ９９."""
    value = _cleaned(bounded(text, limit=AMOUNT_MAX_LENGTH, field="amount"))
    if not value:
        raise InputRejected("amount.empty")
    if len(value) > AMOUNT_MAX_LENGTH:  # NFKC can lengthen a text (﷽ is 18 letters)
        raise InputRejected("amount.not_a_number")
    lowered = AMOUNT_LABEL.sub("", value.lower().rstrip("。!."))
    if "nan" in lowered or "inf" in lowered or _has_control_characters(lowered):
        raise InputRejected("amount.not_a_number")
    if _is_negative(lowered):
        raise InputRejected("amount.negative")
    number, currencies = _split_currency(lowered.lstrip("+"), default_currency)
    if _is_negative(number):
        raise InputRejected("amount.negative")
    amount, spoken_in_yuan = _read_amount(number)
    if spoken_in_yuan:
        currencies.append("CNY")
    if len(set(currencies)) > 1:
        raise InputRejected("amount.two_currencies", first=currencies[0], second=currencies[-1])
    currency = currencies[0] if currencies else default_currency
    if amount == 0:
        raise InputRejected("amount.zero")
    if amount > MAX_AMOUNT:
        raise InputRejected("amount.too_large")
    places = decimals_of(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InputRejected("amount.too_many_decimals", currency=currency, places=places)
    return Money(amount.quantize(Decimal(1).scaleb(-places)), currency)


def _read_amount(text: str) -> tuple[Decimal, bool]:
    """The amount in a number with optional Chinese units; whether 元/块/角/分 were used."""
    try:
        text = with_arabic_digits(text)
    except ValueError as error:
        raise InputRejected("amount.not_a_number") from error
    text = re.sub(r"(?<=\d)\s*点\s*(?=\d)", ".", text)
    spoken = MONEY_SPOKEN.fullmatch(text)
    if not spoken or not any(spoken.group("major", "jiao", "fen", "tail")):
        raise InputRejected("amount.not_a_number")
    major, jiao, fen, tail = spoken.group("major", "jiao", "fen", "tail")
    if tail and spoken["unit"] and not jiao and not fen:
        jiao = tail  # 九十九块五: the digit after 块 counts 角
    elif tail and jiao and not fen:
        fen = tail  # 九毛九
    elif tail:
        raise InputRejected("amount.not_a_number")
    in_parts = bool(jiao or fen)
    if (in_parts and major and not spoken["unit"]) or (spoken["multiplier"] and not major):
        raise InputRejected("amount.not_a_number")
    amount = read_number(major) if major else Decimal(0)
    if in_parts and amount != amount.to_integral_value():
        raise InputRejected("amount.not_a_number")
    amount *= {"万": 10_000, "千": 1_000}.get(spoken["multiplier"] or "", 1)
    amount += Decimal(int(jiao or 0)) / 10 + Decimal(int(fen or 0)) / 100
    return amount, bool(spoken["unit"] or in_parts)


def read_number(text: str) -> Decimal:
    """Digits with thousands separators and one decimal separator: 1,299.50, 1.299,50, 1 299, 99,5."""
    if " " in text or "'" in text:
        if not re.fullmatch(r"\d{1,3}(?:[ ']\d{3})+(?:[.,]\d+)?", text):
            raise InputRejected("amount.not_a_number")  # "99 99" is two numbers, not 9999
        text = re.sub(r"[ ']", "", text)
    separators = [c for c in text if c in ".,"]
    decimal_mark = None
    if len(set(separators)) == 2:
        decimal_mark = separators[-1]
    elif len(separators) == 1:
        head, _, tail = text.partition(separators[0])
        # "1,299" is a thousand; "99,5" and "99.001" keep their decimals (the latter is refused later).
        thousands = separators[0] == "," and len(tail) == 3 and head != "0"
        decimal_mark = None if thousands else separators[0]
    elif separators and len(set(separators)) == 1:
        # 1,299,000 or 1.299.000: every group after the first has three digits
        if not re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
            raise InputRejected("amount.not_a_number")
    if decimal_mark and separators.count(decimal_mark) > 1:
        raise InputRejected("amount.not_a_number")
    whole, _, fraction = text.partition(decimal_mark) if decimal_mark else (text, "", "")
    whole = whole.replace(",", "").replace(".", "")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise InputRejected("amount.not_a_number")
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation as error:
        raise InputRejected("amount.not_a_number") from error


# --- payment times ------------------------------------------------------------------------


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
    value = _cleaned(bounded(text, limit=TIME_MAX_LENGTH, field="paid_at"))
    if not value:
        raise InputRejected("paid_at.empty")
    if _has_control_characters(value) or len(value) > TIME_MAX_LENGTH:
        raise InputRejected("paid_at.unreadable")
    try:
        typed = read_typed_time(value, now=now, zone=zone, window_days=window_days)
    except AmbiguousDate as ambiguous:
        raise InputRejected(
            "paid_at.ambiguous_date", first=ambiguous.first.isoformat(), second=ambiguous.second.isoformat()
        ) from ambiguous
    except (ValueError, OverflowError) as error:
        raise InputRejected("paid_at.unreadable") from error
    if typed is None:
        typed = _read_with_dateparser(value, now=now, zone=zone)
    return check_payment_time(
        typed.moment, day_only=typed.day_only, now=now, zone=zone, window_days=window_days
    )


def _read_with_dateparser(value: str, *, now: datetime, zone: ZoneInfo) -> TypedTime:
    """Last resort for English forms the typed-time reader does not know (never for digits alone)."""
    if HAS_CHINESE.search(value) or not re.search(r"[a-z]", value, re.I):
        raise InputRejected("paid_at.unreadable")
    settings = {
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
    }
    try:
        moment = dateparser.parse(value, languages=["en"], settings=settings)
    except (ValueError, OverflowError) as error:
        raise InputRejected("paid_at.unreadable") from error
    if moment is None:
        raise InputRejected("paid_at.unreadable")
    if not TIME_GIVEN.search(value):
        return TypedTime(day_start(moment.date(), zone), True)
    return TypedTime(moment, False)
