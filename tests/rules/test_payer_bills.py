"""Payers' own bills: WeChat and Alipay CSV read into entries, and the duplicated pair to the merchant."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.exports.decoding import decode_export
from handlers.exports.payer_bills import (
    BillEntry,
    BillPlatform,
    Direction,
    MalformedBill,
    NotABill,
    detect_platform,
    find_duplicate_pair,
    is_merchant,
    read_payer_bill,
)
from handlers.money import Money
from handlers.texts import Texts
from locales import LANGUAGES

BILLS = Path(__file__).resolve().parents[1] / "samples" / "bills"
WINDOW = timedelta(minutes=10)


def sample(name: str) -> str:
    text, _ = decode_export((BILLS / name).read_bytes())
    return text


@pytest.mark.parametrize(("name", "platform", "encoding"), [
    ("wechat_duplicate.csv", BillPlatform.WECHAT, "utf-8"),
    ("alipay_duplicate.csv", BillPlatform.ALIPAY, "gbk"),
])
def test_the_samples_are_written_as_the_apps_write_them(name, platform, encoding):
    data = (BILLS / name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == (platform is BillPlatform.WECHAT)
    assert decode_export(data)[1] == encoding
    assert detect_platform(decode_export(data)[0]) is platform


def test_a_wechat_bill_is_read_into_entries_in_utc():
    bill = read_payer_bill(sample("wechat_duplicate.csv"))
    assert bill.platform is BillPlatform.WECHAT and len(bill.entries) == 8
    later = bill.entries[0]
    assert later.at == datetime(2026, 11, 25, 13, 4, 12, tzinfo=UTC)  # 21:04:12 Beijing time
    assert later.counterparty == "Happy Tea 三里屯店" and later.item == "奶茶 x2"
    assert later.amount == Money(Decimal("88.00"), "CNY") and later.direction is Direction.EXPENSE
    assert (later.status, later.succeeded) == ("支付成功", True)
    # The tab WeChat writes after each id is not part of it.
    assert later.transaction_no == "4200002345202611251098765432"
    assert later.merchant_order_no == "HT20261125210405"
    income = bill.entries[3]
    assert income.direction is Direction.INCOME and income.merchant_order_no == ""  # "/" means none
    refunded = bill.entries[5]
    assert refunded.status == "已全额退款" and not refunded.succeeded


def test_an_alipay_bill_is_read_past_its_padding_and_trailing_commas():
    bill = read_payer_bill(sample("alipay_duplicate.csv"))
    assert bill.platform is BillPlatform.ALIPAY and len(bill.entries) == 8
    later = bill.entries[0]
    assert later.at == datetime(2026, 11, 25, 13, 4, 12, tzinfo=UTC)
    assert (later.counterparty, later.item, later.status) == ("Happy Tea", "奶茶 x2", "交易成功")
    assert later.amount == Money(Decimal("88.00"), "CNY")
    assert later.transaction_no == "2026112522001412341234567890"
    assert later.merchant_order_no == "HT20261125210405"
    refund = bill.entries[4]
    assert refund.direction is Direction.NEUTRAL and refund.status == "退款成功"  # 不计收支
    assert bill.entries[5].status == "交易关闭" and not bill.entries[5].succeeded


OLD_COLUMNS = ("交易号,商户订单号,交易创建时间,付款时间,最近修改时间,交易来源地,类型,交易对方,商品名称,"
               "金额（元）,收/支,交易状态,服务费（元）,成功退款（元）,备注,资金状态")


def old_row(txn: str, order: str, created: str, paid: str) -> str:
    """A row of the older layout: padded cells, a tab after the ids, a trailing comma."""
    cells = [f"{txn}\t", f"{order}\t", created, paid, created, "其他（包括阿里巴巴和外部商家）",
             "即时到账交易", "Happy Tea", "奶茶 x2", "88.00", "支出", "交易成功", "0.00", "0.00", "",
             "已支出"]
    return ",".join(f"{cell:<12}" for cell in cells) + ","


OLD_ALIPAY = "\n".join([
    "支付宝交易记录明细查询",
    "账号:[ann***@example.com]",
    "起始日期:[2026-11-01 00:00:00]    终止日期:[2026-11-25 23:59:59]",
    "---------------------------------交易记录明细列表------------------------------------",
    ",".join(f"{name:<10}" for name in OLD_COLUMNS.split(",")) + ",",
    old_row("2026112522001412341234567890", "HT20261125210405", "2026-11-25 21:04:10", "2026-11-25 21:04:12"),
    old_row("2026112522001412341234567801", "HT20261125210331", "2026-11-25 21:03:38", ""),
    "------------------------------------------------------------------------------------",
    "共2笔记录",
    "已收入:0笔,0.00元",
    "待收入:0笔,0.00元",
]) + "\n"


def test_the_older_alipay_layout_is_read_by_its_header_names():
    bill = read_payer_bill(OLD_ALIPAY)
    assert bill.platform is BillPlatform.ALIPAY
    assert [e.merchant_order_no for e in bill.entries] == ["HT20261125210405", "HT20261125210331"]
    # 付款时间 when there is one, else 交易创建时间; the footer after the dashes is not read.
    assert [e.at for e in bill.entries] == [datetime(2026, 11, 25, 13, 4, 12, tzinfo=UTC),
                                            datetime(2026, 11, 25, 13, 3, 38, tzinfo=UTC)]
    assert find_duplicate_pair(bill.entries, ["happy tea"], WINDOW) == (bill.entries[1], bill.entries[0])


@pytest.mark.parametrize(("name", "platform", "line", "reason"), [
    ("wechat_malformed.csv", BillPlatform.WECHAT, 20, "ends before the 金额(元) column"),
    ("alipay_malformed.csv", BillPlatform.ALIPAY, 27, "'六十七元' is not an amount"),
])
def test_a_malformed_bill_names_its_platform_and_line(name, platform, line, reason):
    with pytest.raises(MalformedBill) as broken:
        read_payer_bill(sample(name))
    assert (broken.value.platform, broken.value.line) == (platform, line)
    assert reason in broken.value.reason


@pytest.mark.parametrize("text", [
    "",
    "transaction_id,order_id,amount\ntx1,A1,99.00\n",
    "交易时间,交易对方,金额\n2026-11-25 21:04:12,Happy Tea,88.00\n",  # a bill-like table missing columns
    "\0" * 10,
])
def test_text_without_a_bill_header_is_not_a_bill(text):
    with pytest.raises(NotABill):
        read_payer_bill(text)
    assert detect_platform(text) is None


def test_a_header_far_below_the_preamble_is_not_looked_for():
    text = "微信支付账单明细\n" * 80 + sample("wechat_duplicate.csv").splitlines()[16] + "\n"
    with pytest.raises(NotABill):
        read_payer_bill(text)


@pytest.mark.parametrize("bad_time", ["yesterday", "2026-13-01 10:00:00"])
def test_an_unreadable_time_is_a_malformed_line(bad_time):
    lines = sample("wechat_duplicate.csv").splitlines()
    lines[17] = lines[17].replace("2026-11-25 21:04:12", bad_time)
    with pytest.raises(MalformedBill) as broken:
        read_payer_bill("\n".join(lines))
    assert broken.value.line == 18


@pytest.mark.parametrize(("counterparty", "names", "matches"), [
    ("Happy Tea 三里屯店", ["happytea"], True),
    ("HAPPY  TEA", ["Happy Tea"], True),
    ("Ｈａｐｐｙ Ｔｅａ", ["happy tea"], True),  # full-width letters
    ("City Bakery", ["Happy Tea", "city bakery"], True),
    ("Happy", ["Happy Tea"], False),
    ("Happy Tea", [], False),
    ("Happy Tea", ["", " "], False),
])
def test_merchant_names_ignore_case_width_and_spaces(counterparty, names, matches):
    assert is_merchant(counterparty, names) is matches


@pytest.mark.parametrize("name", ["wechat_duplicate.csv", "alipay_duplicate.csv"])
def test_the_duplicated_pair_to_the_merchant_is_found_earlier_first(name):
    bill = read_payer_bill(sample(name))
    earlier, later = find_duplicate_pair(bill.entries, ["Happy Tea"], WINDOW)
    assert (earlier.merchant_order_no, later.merchant_order_no) == ("HT20261125210331", "HT20261125210405")
    assert later.at - earlier.at == timedelta(seconds=32)


@pytest.mark.parametrize("name", ["wechat_duplicate.csv", "alipay_duplicate.csv"])
def test_no_pair_for_a_merchant_paid_once_or_not_at_all(name):
    entries = read_payer_bill(sample(name)).entries
    assert find_duplicate_pair(entries, ["City Bakery"], WINDOW) is None  # one ¥88.00 payment
    assert find_duplicate_pair(entries, ["Lucky Coffee"], WINDOW) is None
    assert find_duplicate_pair(entries, [], WINDOW) is None


@pytest.mark.parametrize("name", ["wechat_duplicate.csv", "alipay_duplicate.csv"])
def test_a_refunded_payment_and_the_refund_row_make_no_pair(name):
    entries = read_payer_bill(sample(name)).entries
    # Two payments of the same amount a minute apart on the 23rd, but one was refunded: only the ¥88.00 pair.
    without_the_88s = [e for e in entries if e.amount.amount != Decimal("88.00")]
    assert find_duplicate_pair(without_the_88s, ["Happy Tea"], WINDOW) is None


def test_a_pair_further_apart_than_the_window_is_not_a_duplicate():
    entries = read_payer_bill(sample("wechat_duplicate.csv")).entries
    assert find_duplicate_pair(entries, ["Happy Tea"], timedelta(seconds=31)) is None
    assert find_duplicate_pair(entries, ["Happy Tea"], timedelta(seconds=32)) is not None


def entry(minute: int, amount: str = "88.00", *, second: int = 0, txn: str = "", status: str = "支付成功",
          direction: Direction = Direction.EXPENSE, who: str = "Happy Tea") -> BillEntry:
    return BillEntry(at=datetime(2026, 11, 25, 13, minute, second, tzinfo=UTC), counterparty=who, item="",
                     amount=Money(Decimal(amount), "CNY"), direction=direction, status=status,
                     transaction_no=txn or f"t{minute}{second}{amount}", merchant_order_no=f"o{minute}",
                     line=1)


def test_the_closest_pair_wins_and_of_equally_close_ones_the_most_recent():
    closest = [entry(0), entry(5), entry(30, "20.00"), entry(31, "20.00")]
    assert find_duplicate_pair(closest, ["happy tea"], WINDOW) == (closest[2], closest[3])
    tie = [entry(0), entry(1), entry(40, "20.00"), entry(41, "20.00")]
    assert find_duplicate_pair(tie, ["happy tea"], WINDOW) == (tie[2], tie[3])


@pytest.mark.parametrize("second", [
    entry(1, "88.01"),
    entry(1, direction=Direction.INCOME),
    entry(1, status="交易关闭"),
    entry(1, who="City Bakery"),
    entry(1, txn="t0088.00"),  # the first payment listed twice
])
def test_only_successful_expenses_of_the_same_amount_pair_up(second):
    assert find_duplicate_pair([entry(0), second], ["happy tea"], WINDOW) is None
    assert find_duplicate_pair([entry(0), entry(1)], ["happy tea"], WINDOW) is not None


@pytest.mark.parametrize("platform", list(BillPlatform))
def test_keys_built_from_the_platform_exist_in_every_language(platform):
    texts = Texts.load()
    for language in LANGUAGES:
        for key in (f"bill.platform_{platform.value}", f"bill.malformed_{platform.value}"):
            assert key in texts.catalogs[language], (language, key)
