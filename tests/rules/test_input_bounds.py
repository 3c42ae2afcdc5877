"""Every typed field is length-checked before any normalisation, regex, numeral reader or dateparser runs."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers import parsing
from handlers.parsing import (
    AMOUNT_MAX_LENGTH,
    ORDER_MAX_LENGTH,
    TIME_MAX_LENGTH,
    InputRejected,
    parse_amount,
    parse_order_number,
    parse_payment_time,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 16, 0, tzinfo=SHANGHAI)

PARSERS = {
    "order": (parse_order_number, ORDER_MAX_LENGTH),
    "amount": (lambda text: parse_amount(text, default_currency="CNY"), AMOUNT_MAX_LENGTH),
    "paid_at": (
        lambda text: parse_payment_time(text, now=NOW, zone=SHANGHAI, window_days=180), TIME_MAX_LENGTH
    ),
}
# What a payer (or an attacker) could paste: digits, numerals, dates, emoji, spaces between.
HUGE = {
    "digits": "9",
    "numerals": "九十九",
    "dates": "2026-11-25 14:30 ",
    "separators": "1,",
    "emoji": "🙂",
    "spaced": "9 ",
}


class NotReached:
    """Stands in for a parser: any use fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the parser was reached ({name}) before the length check")

    def __call__(self, *args, **kwargs):
        raise AssertionError("the parser was reached before the length check")


@pytest.fixture
def parsers_unreachable(monkeypatch):
    """Every step after the length check blows up if it runs."""
    steps = ("_normalize", "_cleaned", "read_typed_time", "with_arabic_digits", "dateparser", "unicodedata")
    for name in steps:
        monkeypatch.setattr(parsing, name, NotReached())


@pytest.mark.parametrize("size", [4 * 1024, 100 * 1024])
@pytest.mark.parametrize("kind", sorted(HUGE))
@pytest.mark.parametrize("field", sorted(PARSERS))
def test_huge_inputs_are_refused_before_any_parser_runs(parsers_unreachable, field, kind, size):
    parse, limit = PARSERS[field]
    text = (HUGE[kind] * size)[:size]
    with pytest.raises(InputRejected) as refused:
        parse(text)
    assert refused.value.key == f"{field}.too_long"
    assert refused.value.params == {"max": limit, "length": len(text.strip())}


@pytest.mark.parametrize("field", sorted(PARSERS))
def test_the_cap_is_one_character_past_the_limit(parsers_unreachable, field):
    parse, limit = PARSERS[field]
    with pytest.raises(InputRejected) as refused:
        parse("1" * (limit + 1))
    assert refused.value.key == f"{field}.too_long"


@pytest.mark.parametrize(
    ("field", "typed", "reason"),
    [
        ("order", "x" * ORDER_MAX_LENGTH, None),
        ("amount", "1" * AMOUNT_MAX_LENGTH, "amount.too_large"),
        ("paid_at", "x" * TIME_MAX_LENGTH, "paid_at.unreadable"),
        ("amount", "  99  " + " " * 500, None),  # surrounding spaces do not count
    ],
)
def test_inputs_within_the_cap_reach_the_parser(field, typed, reason):
    parse, _ = PARSERS[field]
    if reason is None:
        parse(typed)
        return
    with pytest.raises(InputRejected) as refused:
        parse(typed)
    assert refused.value.key == reason


@pytest.mark.parametrize("field", ["amount", "paid_at"])
def test_text_that_grows_under_normalisation_is_still_bounded(field):
    parse, limit = PARSERS[field]
    text = "\ufdfa" * (limit // 2)  # one character that NFKC turns into 18
    with pytest.raises(InputRejected) as refused:
        parse(text)
    assert refused.value.key in {"amount.not_a_number", "paid_at.unreadable"}
