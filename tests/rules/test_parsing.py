"""What payers type, read or refused with the right reason."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.money import Money
from handlers.parsing import InputRejected, parse_amount, parse_order_number, parse_payment_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 16, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("typed", "amount", "currency"),
    [
        ("99", "99.00", "CNY"),
        ("99.00", "99.00", "CNY"),
        ("¥99", "99.00", "CNY"),
        ("￥99", "99.00", "CNY"),
        ("99元", "99.00", "CNY"),
        ("$49.99", "49.99", "USD"),
        ("1,299.50", "1299.50", "CNY"),
        ("1.299,50", "1299.50", "CNY"),
        ("９９", "99.00", "CNY"),
        ("１,２９９.５０", "1299.50", "CNY"),
        ("RMB 99", "99.00", "CNY"),
        ("99 USD", "99.00", "USD"),
        ("€5", "5.00", "EUR"),
        ("  12.5  ", "12.50", "CNY"),
        ("JPY 1200", "1200", "JPY"),
        ("99 dollars", "99.00", "USD"),
    ],
)
def test_amounts_are_read_exactly(typed, amount, currency):
    assert parse_amount(typed, default_currency="CNY") == Money(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "amount.empty"),
        ("   ", "amount.empty"),
        ("abc", "amount.not_a_number"),
        ("12abc", "amount.not_a_number"),
        ("NaN", "amount.not_a_number"),
        ("inf", "amount.not_a_number"),
        ("-Infinity", "amount.not_a_number"),
        ("1e5", "amount.not_a_number"),
        ("99 apples", "amount.not_a_number"),
        ("-5", "amount.negative"),
        ("¥-5", "amount.negative"),
        ("0", "amount.zero"),
        ("0.00", "amount.zero"),
        ("10000000", "amount.too_large"),
        ("99999999999999999999999", "amount.too_large"),
        ("99.001", "amount.too_many_decimals"),
        ("JPY 99.5", "amount.too_many_decimals"),
        ("1.2.3,4,5", "amount.not_a_number"),
        ("🙂", "amount.not_a_number"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(typed, reason):
    with pytest.raises(InputRejected) as refused:
        parse_amount(typed, default_currency="CNY")
    assert refused.value.key == reason


def test_yen_sign_follows_a_japanese_default_currency():
    assert parse_amount("¥1200", default_currency="JPY") == Money(Decimal(1200), "JPY")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("ORD-123", "ORD-123"), ("  2026112512345 ", "2026112512345"), ("２０２６", "2026"),
     ("a/b.c#1_2", "a/b.c#1_2"), ("x" * 64, "x" * 64)],
)
def test_order_numbers_are_read(typed, expected):
    assert parse_order_number(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "order.empty"),
        ("    ", "order.empty"),
        ("\u3000\u3000", "order.empty"),
        ("🙂🙂🙂", "order.bad_characters"),
        ("ORD 123", "order.bad_characters"),
        ("x" * 65, "order.too_long"),
        ("ab\x00cd", "order.control_characters"),
        ("ab\u200bcd", "order.control_characters"),
        ("ab\x1bcd", "order.control_characters"),
        ("-leading-dash", "order.bad_characters"),
    ],
)
def test_bad_order_numbers_are_refused(typed, reason):
    with pytest.raises(InputRejected) as refused:
        parse_order_number(typed)
    assert refused.value.key == reason


@pytest.mark.parametrize(
    ("typed", "expected", "day_only"),
    [
        ("2026-11-25 14:32", datetime(2026, 11, 25, 14, 32), False),
        ("today 14:30", datetime(2026, 11, 26, 14, 30), False),
        ("yesterday 2pm", datetime(2026, 11, 25, 14, 0), False),
        ("昨天 下午2点", datetime(2026, 11, 25, 14, 0), False),
        ("昨天下午两点半", datetime(2026, 11, 25, 14, 30), False),
        ("今天 14:30", datetime(2026, 11, 26, 14, 30), False),
        ("前天 上午10点", datetime(2026, 11, 24, 10, 0), False),
        ("11月25日 下午3点半", datetime(2026, 11, 25, 15, 30), False),
        ("2026年11月25日 14:32", datetime(2026, 11, 25, 14, 32), False),
        ("2026-11-25", datetime(2026, 11, 25), True),
        ("yesterday", datetime(2026, 11, 25), True),
    ],
)
def test_payment_times_in_both_languages(typed, expected, day_only):
    paid = parse_payment_time(typed, now=NOW, zone=SHANGHAI, window_days=180)
    assert paid.moment == expected.replace(tzinfo=SHANGHAI)
    assert paid.moment.tzinfo is not None
    assert paid.day_only is day_only


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "paid_at.empty"),
        ("blah", "paid_at.unreadable"),
        ("tomorrow", "paid_at.future"),
        ("today 23:00", "paid_at.future"),
        ("2020-01-01 10:00", "paid_at.too_old"),
        ("2099-01-01", "paid_at.future"),
        ("x" * 5000, "paid_at.too_long"),
        ("25:99", "paid_at.unreadable"),
    ],
)
def test_bad_payment_times_are_refused(typed, reason):
    with pytest.raises(InputRejected) as refused:
        parse_payment_time(typed, now=NOW, zone=SHANGHAI, window_days=180)
    assert refused.value.key == reason


def test_refund_window_is_configurable():
    typed = (NOW - timedelta(days=40)).strftime("%Y-%m-%d %H:%M")
    assert parse_payment_time(typed, now=NOW, zone=SHANGHAI, window_days=180).day_only is False
    with pytest.raises(InputRejected) as refused:
        parse_payment_time(typed, now=NOW, zone=SHANGHAI, window_days=30)
    assert refused.value.params == {"days": 30}
