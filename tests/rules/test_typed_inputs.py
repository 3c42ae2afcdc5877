"""Amounts, payment times and order numbers as people really type them, in English and Chinese.

Every row is an input a payer could send (copied from a receipt, or typed in a chat) and the value the
bot must read from it. The clock is Thursday 2026-11-26 16:00 in Asia/Shanghai; the window is 180 days.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.money import Money
from handlers.parsing import InputRejected, parse_amount, parse_order_number, parse_payment_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 16, 0, tzinfo=SHANGHAI)
WINDOW = 180


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment of 2026 in Shanghai."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def read_time(typed: str):
    return parse_payment_time(typed, now=NOW, zone=SHANGHAI, window_days=WINDOW)


def refusal_of(read, typed: str) -> InputRejected:
    with pytest.raises(InputRejected) as refused:
        read(typed)
    return refused.value


# --- amounts in English and international forms ------------------------------------------

AMOUNTS_EN = [
    ("99", "99.00", "CNY"),
    ("99.00", "99.00", "CNY"),
    ("99.5", "99.50", "CNY"),
    ("  12.5  ", "12.50", "CNY"),
    ("+99", "99.00", "CNY"),
    ("99.", "99.00", "CNY"),
    ("0.99", "0.99", "CNY"),
    ("$49.99", "49.99", "USD"),
    ("$ 49.99", "49.99", "USD"),
    ("$5", "5.00", "USD"),
    ("$0.99", "0.99", "USD"),
    ("49.99$", "49.99", "USD"),
    ("49.99 USD", "49.99", "USD"),
    ("49.99usd", "49.99", "USD"),
    ("USD 49.99", "49.99", "USD"),
    ("usd49.99", "49.99", "USD"),
    ("US$49.99", "49.99", "USD"),
    ("$49.99 USD", "49.99", "USD"),
    ("49.99 dollars", "49.99", "USD"),
    ("49.99 Dollars", "49.99", "USD"),
    ("1 dollar", "1.00", "USD"),
    ("25 bucks", "25.00", "USD"),
    ("100.00 usd", "100.00", "USD"),
    ("USD 1,000", "1000.00", "USD"),
    ("$1,299.50", "1299.50", "USD"),
    ("1,299.50", "1299.50", "CNY"),
    ("1,299", "1299.00", "CNY"),
    ("12,345.67", "12345.67", "CNY"),
    ("1,000,000", "1000000.00", "CNY"),
    ("1 299.50", "1299.50", "CNY"),
    ("1'299.50", "1299.50", "CNY"),
    ("99,5", "99.50", "CNY"),
    ("€12,50", "12.50", "EUR"),
    ("12,50 €", "12.50", "EUR"),
    ("€ 1.299,50", "1299.50", "EUR"),
    ("EUR 15", "15.00", "EUR"),
    ("15 euros", "15.00", "EUR"),
    ("£20", "20.00", "GBP"),
    ("20 pounds", "20.00", "GBP"),
    ("GBP 20.00", "20.00", "GBP"),
    ("HK$100", "100.00", "HKD"),
    ("100 HKD", "100.00", "HKD"),
    ("AU$30", "30.00", "AUD"),
    ("50 SGD", "50.00", "SGD"),
    ("JPY 1200", "1200", "JPY"),
    ("1200 yen", "1200", "JPY"),
    ("KRW 5000", "5000", "KRW"),
    ("₩5000", "5000", "KRW"),
    ("₹499", "499.00", "INR"),
    ("499 rupees", "499.00", "INR"),
    ("¥1200", "1200.00", "CNY"),
    ("99 yuan", "99.00", "CNY"),
    ("99 RMB", "99.00", "CNY"),
    ("RMB99", "99.00", "CNY"),
    ("rmb 99.00", "99.00", "CNY"),
    ("CNY 99", "99.00", "CNY"),
    ("CNY99.00", "99.00", "CNY"),
    ("99 CNY", "99.00", "CNY"),
    ("Total: $49.99", "49.99", "USD"),
    ("Amount: 99.00", "99.00", "CNY"),
    ("paid $49.99", "49.99", "USD"),
    ("charged 99 USD", "99.00", "USD"),
    ("I paid 99", "99.00", "CNY"),
    ("99.99\u200b", "99.99", "CNY"),  # a zero-width space copied with the amount
    ("\u200e$49.99", "49.99", "USD"),  # a direction mark pasted from an app
]

# --- amounts in Chinese: numerals, 元/块/角/毛/分, receipts, full-width ---------------------------

AMOUNTS_ZH = [
    ("人民币99元", "99.00", "CNY"),
    ("人民币 99", "99.00", "CNY"),
    ("99元人民币", "99.00", "CNY"),
    ("RMB99元", "99.00", "CNY"),
    ("¥99元", "99.00", "CNY"),
    ("九十九元", "99.00", "CNY"),
    ("九十九", "99.00", "CNY"),
    ("九十九块五", "99.50", "CNY"),
    ("九十九块九毛", "99.90", "CNY"),
    ("一百二十三元四角", "123.40", "CNY"),
    ("99块", "99.00", "CNY"),
    ("99块钱", "99.00", "CNY"),
    ("一百块钱", "100.00", "CNY"),
    ("¥99", "99.00", "CNY"),
    ("￥99", "99.00", "CNY"),
    ("￥１２９．９０", "129.90", "CNY"),
    ("99元整", "99.00", "CNY"),
    ("二十元整", "20.00", "CNY"),
    ("99块整", "99.00", "CNY"),
    ("99.00元", "99.00", "CNY"),
    ("99 元", "99.00", "CNY"),
    ("99.5块", "99.50", "CNY"),
    ("1,299元", "1299.00", "CNY"),
    ("九十九点九九", "99.99", "CNY"),
    ("九十九.五元", "99.50", "CNY"),
    ("一百二十三点四五元", "123.45", "CNY"),
    ("一百点零五", "100.05", "CNY"),
    ("五毛", "0.50", "CNY"),
    ("五角", "0.50", "CNY"),
    ("九毛九", "0.99", "CNY"),
    ("三毛五", "0.35", "CNY"),
    ("五毛五分", "0.55", "CNY"),
    ("九块九毛九", "9.99", "CNY"),
    ("十块零五分", "10.05", "CNY"),
    ("五十块零五毛", "50.50", "CNY"),
    ("两块五毛", "2.50", "CNY"),
    ("两块五", "2.50", "CNY"),
    ("99元5角3分", "99.53", "CNY"),
    ("99块9", "99.90", "CNY"),
    ("1.5万", "15000.00", "CNY"),
    ("2万元", "20000.00", "CNY"),
    ("3千块", "3000.00", "CNY"),
    ("一万二", "12000.00", "CNY"),
    ("三百五", "350.00", "CNY"),
    ("两百", "200.00", "CNY"),
    ("两千零五块", "2005.00", "CNY"),
    ("一千零一块", "1001.00", "CNY"),
    ("一千二百九十九元五角", "1299.50", "CNY"),
    ("十块", "10.00", "CNY"),
    ("十元", "10.00", "CNY"),
    ("一块", "1.00", "CNY"),
    ("一块钱", "1.00", "CNY"),
    ("壹佰元", "100.00", "CNY"),
    ("壹仟贰佰叁拾肆元伍角", "1234.50", "CNY"),
    ("兩百塊", "200.00", "CNY"),
    ("实付款：¥99.00", "99.00", "CNY"),
    ("实付 ¥99.00", "99.00", "CNY"),
    ("金额: 99.00元", "99.00", "CNY"),
    ("合计：128.00元", "128.00", "CNY"),
    ("订单金额 ¥1,299.00", "1299.00", "CNY"),
    ("支付金额￥59.90", "59.90", "CNY"),
    ("９９", "99.00", "CNY"),
    ("９９．００元", "99.00", "CNY"),
    ("99美元", "99.00", "USD"),
    ("99 美元", "99.00", "USD"),
    ("美元99", "99.00", "USD"),
    ("49.99美金", "49.99", "USD"),
    ("100 欧元", "100.00", "EUR"),
    ("1000日元", "1000", "JPY"),
    ("100港币", "100.00", "HKD"),
    ("100港元", "100.00", "HKD"),
    ("50英镑", "50.00", "GBP"),
]


@pytest.mark.parametrize(("typed", "amount", "currency"), AMOUNTS_EN)
def test_english_and_international_amounts(typed, amount, currency):
    assert parse_amount(typed, default_currency="CNY") == Money(Decimal(amount), currency)


@pytest.mark.parametrize(("typed", "amount", "currency"), AMOUNTS_ZH)
def test_chinese_amounts(typed, amount, currency):
    assert parse_amount(typed, default_currency="CNY") == Money(Decimal(amount), currency)


def test_amounts_are_decimal_never_float():
    money = parse_amount("九十九块九毛九", default_currency="CNY")
    assert type(money.amount) is Decimal and money.minor == 9999


UNREADABLE_AMOUNTS = [
    "abc", "ninety nine", "99 apples", "about 99", "99多", "99块多", "十几块", "大概99", "99 99", "99块50",
    "$", "元", "万", "99-100", "99/2", "1e5", "0x10", "🙂", "¥¥99", "两次99", "99 * 2", "99+99", "1.2.3",
    "..", "一十零", "十十块", "九十九块五毛五分五", "99块50分", "5毛99",
]


@pytest.mark.parametrize("typed", UNREADABLE_AMOUNTS)
def test_unreadable_amounts_get_the_hint(typed):
    assert refusal_of(lambda t: parse_amount(t, default_currency="CNY"), typed).key == "amount.not_a_number"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("0", "amount.zero"), ("零", "amount.zero"), ("0.00元", "amount.zero"), ("$0", "amount.zero"),
        ("-99", "amount.negative"), ("负99", "amount.negative"), ("-¥5", "amount.negative"),
        ("¥-5", "amount.negative"), ("-$49.99", "amount.negative"), ("−5 USD", "amount.negative"),
        ("99.001", "amount.too_many_decimals"), ("JPY 99.5", "amount.too_many_decimals"),
        ("1200.5 yen", "amount.too_many_decimals"), ("一百二十三点四五六", "amount.too_many_decimals"),
        ("10000000", "amount.too_large"), ("一千万", "amount.too_large"),
        ("$1,000,000.01", "amount.too_large"), ("9" * 64, "amount.too_large"),
        ("$99元", "amount.two_currencies"), ("USD 99 EUR", "amount.two_currencies"),
        ("99元 USD", "amount.two_currencies"),
    ],
)
def test_amounts_that_cannot_be_a_charge_are_refused_with_the_reason(typed, reason):
    assert refusal_of(lambda t: parse_amount(t, default_currency="CNY"), typed).key == reason


# --- payment times in Chinese ---------------------------------------------------------------

TIMES_ZH = [
    ("昨晚8点半", at(11, 25, 20, 30), False),
    ("刚才", NOW, False),
    ("刚刚", NOW, False),
    ("刚付的", NOW, False),
    ("28号下午两点", at(10, 28, 14), False),
    ("今天上午10点", at(11, 26, 10), False),
    ("前天晚上九点十分", at(11, 24, 21, 10), False),
    ("11月25日 14:30", at(11, 25, 14, 30), False),
    ("11-25 14:30", at(11, 25, 14, 30), False),
    ("11-10 09:00", at(11, 10, 9), False),
    ("2026-11-25 14:30:05", at(11, 25, 14, 30, 5), False),
    ("2026/11/25 14:30", at(11, 25, 14, 30), False),
    ("2026.11.25 14:30", at(11, 25, 14, 30), False),
    ("2026年11月25日14时30分05秒", at(11, 25, 14, 30, 5), False),
    ("2026年11月25日 下午2:30", at(11, 25, 14, 30), False),
    ("二〇二六年十一月二十五日 十四点三十分", at(11, 25, 14, 30), False),
    ("十一月二十五日 下午两点", at(11, 25, 14), False),
    ("北京时间 2026-11-25 14:30", at(11, 25, 14, 30), False),
    ("下午2点", at(11, 26, 14), False),
    ("两点半", at(11, 26, 14, 30), False),
    ("兩點半", at(11, 26, 14, 30), False),
    ("八点", at(11, 26, 8), False),
    ("12点一刻", at(11, 26, 12, 15), False),
    ("十点零五分", at(11, 26, 10, 5), False),
    ("14点30分", at(11, 26, 14, 30), False),
    ("2点多", at(11, 26, 14), False),
    ("晚上8点", at(11, 25, 20), False),  # 20:00 today has not come yet
    ("零点", at(11, 26, 0), False),
    ("半夜12点", at(11, 26, 0), False),
    ("凌晨2点", at(11, 26, 2), False),
    ("今早9点", at(11, 26, 9), False),
    ("今天中午12点半", at(11, 26, 12, 30), False),
    ("中午1点", at(11, 26, 13), False),
    ("今天下午3点15分", at(11, 26, 15, 15), False),
    ("下午3点45", at(11, 26, 15, 45), False),
    ("上午11点30分", at(11, 26, 11, 30), False),
    ("昨天下午两点半", at(11, 25, 14, 30), False),
    ("昨天 下午2点", at(11, 25, 14), False),
    ("昨天 14:30", at(11, 25, 14, 30), False),
    ("今天 14:30", at(11, 26, 14, 30), False),
    ("昨天8点", at(11, 25, 8), False),
    ("昨天两点", at(11, 25, 14), False),
    ("昨天晚上10点", at(11, 25, 22), False),
    ("昨晚8:30", at(11, 25, 20, 30), False),
    ("昨晚12点", at(11, 26, 0), False),
    ("昨晚1点", at(11, 26, 1), False),
    ("大概昨晚8点左右", at(11, 25, 20), False),
    ("前天下午4点", at(11, 24, 16), False),
    ("25号晚上8点", at(11, 25, 20), False),
    ("本周一上午9点", at(11, 23, 9), False),
    ("星期天下午3点", at(11, 22, 15), False),
    ("半小时前", ago(minutes=30), False),
    ("1个半小时前", ago(minutes=90), False),
    ("两个小时前", ago(hours=2), False),
    ("5分钟前", ago(minutes=5), False),
    ("十分钟前", ago(minutes=10), False),
    ("3分钟之前", ago(minutes=3), False),
    ("1小时30分钟前", ago(minutes=90), False),
    ("3天前", at(11, 23), True),
    ("昨天", at(11, 25), True),
    ("今天", at(11, 26), True),
    ("前天", at(11, 24), True),
    ("大前天", at(11, 23), True),
    ("昨天下午", at(11, 25), True),
    ("昨天中午", at(11, 25), True),
    ("我是昨天晚上付的", at(11, 25), True),
    ("2026年11月25日", at(11, 25), True),
    ("11月25号", at(11, 25), True),
    ("25号", at(11, 25), True),
    ("上个月28号", at(10, 28), True),
    ("上周三", at(11, 18), True),
    ("上星期五", at(11, 20), True),
    ("周一", at(11, 23), True),
    ("这周二", at(11, 24), True),
    ("礼拜天", at(11, 22), True),
]

# --- payment times in English -----------------------------------------------------------------

TIMES_EN = [
    ("2 hours ago", ago(hours=2), False),
    ("just now", NOW, False),
    ("right now", NOW, False),
    ("a moment ago", NOW, False),
    ("30 minutes ago", ago(minutes=30), False),
    ("30 mins ago", ago(minutes=30), False),
    ("5 minutes ago", ago(minutes=5), False),
    ("10 min ago", ago(minutes=10), False),
    ("a minute ago", ago(minutes=1), False),
    ("a few minutes ago", ago(minutes=3), False),
    ("an hour ago", ago(hours=1), False),
    ("half an hour ago", ago(minutes=30), False),
    ("an hour and a half ago", ago(minutes=90), False),
    ("1.5 hours ago", ago(minutes=90), False),
    ("2 hours 30 minutes ago", ago(minutes=150), False),
    ("2 hrs ago", ago(hours=2), False),
    ("2h ago", ago(hours=2), False),
    ("about 2 hours ago", ago(hours=2), False),
    ("2 days ago", at(11, 24), True),
    ("3 days ago at 5pm", at(11, 23, 17), False),
    ("yesterday 8pm", at(11, 25, 20), False),
    ("yesterday at 8pm", at(11, 25, 20), False),
    ("yesterday 20:30", at(11, 25, 20, 30), False),
    ("2:30 pm yesterday", at(11, 25, 14, 30), False),
    ("yesterday at 1:15 pm", at(11, 25, 13, 15), False),
    ("yesterday at noon", at(11, 25, 12), False),
    ("yesterday 8:15 in the evening", at(11, 25, 20, 15), False),
    ("around 3pm yesterday", at(11, 25, 15), False),
    ("I paid yesterday at 2pm", at(11, 25, 14), False),
    ("last night at 8:30", at(11, 25, 20, 30), False),
    ("last night at 11", at(11, 25, 23), False),
    ("last night around 9", at(11, 25, 21), False),
    ("last night at 1am", at(11, 26, 1), False),
    ("last night at midnight", at(11, 26, 0), False),
    ("today 14:30", at(11, 26, 14, 30), False),
    ("today at noon", at(11, 26, 12), False),
    ("9 o'clock this morning", at(11, 26, 9), False),
    ("at 2pm", at(11, 26, 14), False),
    ("2pm", at(11, 26, 14), False),
    ("2 pm", at(11, 26, 14), False),
    ("2:30pm", at(11, 26, 14, 30), False),
    ("2.30pm", at(11, 26, 14, 30), False),
    ("8.30 p.m.", at(11, 25, 20, 30), False),  # 20:30 today has not come yet
    ("14:30", at(11, 26, 14, 30), False),
    ("noon", at(11, 26, 12), False),
    ("midnight", at(11, 26, 0), False),
    ("Nov 25 2:30 PM", at(11, 25, 14, 30), False),
    ("Nov 25, 2026 2:30 PM", at(11, 25, 14, 30), False),
    ("Nov 25, 2026, 2:30:05 PM", at(11, 25, 14, 30, 5), False),
    ("November 25th at 2:30pm", at(11, 25, 14, 30), False),
    ("25 Nov 2026 14:30", at(11, 25, 14, 30), False),
    ("Wed, 25 Nov 2026 14:30", at(11, 25, 14, 30), False),
    ("25/11/2026 14:30", at(11, 25, 14, 30), False),
    ("11/25/2026 14:30", at(11, 25, 14, 30), False),
    ("25.11.2026 14:30", at(11, 25, 14, 30), False),
    ("2026-11-25T14:30:05+08:00", at(11, 25, 14, 30, 5), False),
    ("2026-11-25T06:30:05Z", at(11, 25, 14, 30, 5), False),
    ("2026-11-25 14:30 UTC", at(11, 25, 22, 30), False),
    ("2026-11-25 06:30 GMT", at(11, 25, 14, 30), False),
    ("2026-11-25 14:30 +0800", at(11, 25, 14, 30), False),
    ("last wednesday at 10am", at(11, 25, 10), False),
    ("monday 3pm", at(11, 23, 15), False),
    ("Thursday 9am", at(11, 26, 9), False),
    ("on the 25th at 3pm", at(11, 25, 15), False),
    ("day before yesterday at 9am", at(11, 24, 9), False),
    ("yesterday", at(11, 25), True),
    ("yesterday morning", at(11, 25), True),
    ("yesterday evening", at(11, 25), True),
    ("last night", at(11, 25), True),
    ("this morning", at(11, 26), True),
    ("this afternoon", at(11, 26), True),
    ("earlier today", at(11, 26), True),
    ("the day before yesterday", at(11, 24), True),
    ("25th of November", at(11, 25), True),
    ("Nov 25", at(11, 25), True),
    ("11/25", at(11, 25), True),
    ("25/11", at(11, 25), True),
    ("2026-11-25", at(11, 25), True),
    ("the 25th", at(11, 25), True),
    ("on monday", at(11, 23), True),
    ("last friday", at(11, 20), True),
]


@pytest.mark.parametrize(("typed", "expected", "day_only"), TIMES_ZH)
def test_chinese_payment_times(typed, expected, day_only):
    paid = read_time(typed)
    assert (paid.moment, paid.day_only) == (expected, day_only)
    assert paid.moment.tzinfo is not None


@pytest.mark.parametrize(("typed", "expected", "day_only"), TIMES_EN)
def test_english_payment_times(typed, expected, day_only):
    paid = read_time(typed)
    assert (paid.moment, paid.day_only) == (expected, day_only)
    assert paid.moment.tzinfo is not None


def test_times_are_read_in_the_configured_zone():
    berlin = ZoneInfo("Europe/Berlin")
    paid = parse_payment_time("2026-11-25 14:30", now=NOW, zone=berlin, window_days=WINDOW)
    assert paid.moment == datetime(2026, 11, 25, 14, 30, tzinfo=berlin)
    assert paid.moment.utcoffset() == timedelta(hours=1)


UNREADABLE_TIMES = [
    "blah", "whenever", "sometime", "8", "1430", "20261125", "25:99", "14:30 pm", "昨天 25点", "上午14点",
    "2月30日", "32号", "13/13/2026", "不记得了", "不知道", "昨天或者今天", "昨天昨天", "一会儿前", "??",
    "🙂", "last blursday", "十十点",
]


@pytest.mark.parametrize("typed", UNREADABLE_TIMES)
def test_unreadable_times_get_the_hint(typed):
    assert refusal_of(read_time, typed).key == "paid_at.unreadable"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("tomorrow", "paid_at.future"), ("明天", "paid_at.future"), ("后天下午3点", "paid_at.future"),
        ("today 23:00", "paid_at.future"), ("2026-11-26 23:59", "paid_at.future"),
        ("2020-01-01 10:00", "paid_at.too_old"), ("200天前", "paid_at.too_old"),
        ("2025-01-01", "paid_at.too_old"),
    ],
)
def test_future_and_too_old_times_are_refused_as_before(typed, reason):
    assert refusal_of(read_time, typed).key == reason


@pytest.mark.parametrize(
    ("typed", "first", "second"),
    [("10/11/2026", "2026-11-10", "2026-10-11"), ("11/10", "2026-10-11", "2026-11-10")],
)
def test_dates_readable_both_ways_are_asked_about(typed, first, second):
    refusal = refusal_of(read_time, typed)
    assert refusal.key == "paid_at.ambiguous_date"
    assert refusal.params == {"first": first, "second": second}


def test_a_date_only_one_reading_of_which_is_in_the_window_is_taken():
    assert read_time("05/11/2026").moment == at(11, 5)  # 11 May is outside the 180 days


# --- order numbers ------------------------------------------------------------------------------

ORDERS = [
    ("ORD-123", "ORD-123"), ("2026112512345", "2026112512345"), ("  2026112512345 ", "2026112512345"),
    ("２０２６１１２５", "20261125"), ("a/b.c#1_2", "a/b.c#1_2"), ("x" * 64, "x" * 64),
    ("TB-2026-11-25-0001", "TB-2026-11-25-0001"), ("订单号：2026112512345", "2026112512345"),
    ("订单号 2026112512345", "2026112512345"), ("单号:TB123", "TB123"), ("Order #8841", "8841"),
    ("order: 8841", "8841"), ("Order no. 8841", "8841"), ("Order number: 8841", "8841"), ("#8841", "8841"),
    ("ORDER-123", "ORDER-123"),
]


@pytest.mark.parametrize(("typed", "expected"), ORDERS)
def test_order_numbers_as_typed(typed, expected):
    assert parse_order_number(typed) == expected


def test_every_table_has_enough_rows():
    assert min(len(AMOUNTS_EN), len(AMOUNTS_ZH), len(TIMES_EN), len(TIMES_ZH)) >= 60
