"""Platforms' exports read by header: WeChat Pay and Alipay bills, Stripe's payments export, our own CSV."""

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.exports.detect import UnknownExport, read_export
from handlers.exports.layout import RefundRow, new_charge
from handlers.exports.refunds import refunds_outside_file, settle_refunds_outside_file
from handlers.exports.report import ExportReport
from handlers.exports.stripe import order_in_description

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "exports"
ZONE = ZoneInfo("Asia/Shanghai")


def read(name: str, zone: ZoneInfo = ZONE) -> ExportReport:
    return read_export((SAMPLES / name).read_bytes(), zone)


def by_id(report: ExportReport) -> dict[str, dict]:
    return {row["transaction_id"]: row for row in report.rows}


def summary(report: ExportReport) -> tuple[int, int, int, int, list[str]]:
    return report.charges, report.failed, report.refunded, len(report.refunds), report.partial_refunds


# WeChat Pay


def test_a_wechat_trade_bill_with_bom_crlf_and_backticks():
    report = read("wechat_pay_tradebill.csv")
    assert (report.format, report.encoding, report.problems) == ("wechat_pay", "utf-8", [])
    assert summary(report) == (4, 1, 1, 2, ["4200002611202611251234567003"])
    rows = by_id(report)
    first = rows["4200002611202611251234567001"]
    assert first == new_charge(
        transaction_id="4200002611202611251234567001", order_id="A1001",
        payer_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        amount_minor=8800, currency="CNY", status="succeeded",
        created_at=datetime(2026, 11, 25, 6, 32, 5, tzinfo=UTC), method="wallet",
    )
    # the re-tap: same payer and amount, another order, 96 seconds later
    second = rows["4200002611202611251234567002"]
    seen = tuple(second[k] for k in ("order_id", "payer_id", "amount_minor", "status", "method"))
    assert seen == ("A1002", first["payer_id"], 8800, "succeeded", "card")
    assert (second["created_at"] - first["created_at"]).total_seconds() == 96
    assert rows["4200002611202611251234567003"]["status"] == "succeeded"  # 30.00 of 120.00 refunded
    assert rows["4200002611202611251234567004"]["status"] == "failed"  # REVOKED
    assert rows["4200002611202611251234567005"]["status"] == "refunded"  # its REFUND line: all 66.00


def test_beijing_time_whatever_the_configured_zone():
    assert by_id(read("wechat_pay_tradebill.csv", ZoneInfo("UTC"))) == by_id(read("wechat_pay_tradebill.csv"))


def test_the_legacy_24_column_bill_reads_the_settled_amount():
    report = read("wechat_pay_tradebill_legacy24.csv")
    assert report.problems == []
    assert summary(report) == (3, 0, 0, 1, ["4200002611202611251234567003"])
    assert [row["amount_minor"] for row in report.rows] == [8800, 8800, 12000]


def test_a_refund_line_carries_the_charge_it_refunds():
    report = read("wechat_pay_tradebill_next_day.csv")
    assert report.rows == []
    [refund] = report.refunds
    assert (refund.line, refund.amount_minor) == (2, 8800)
    assert refund.transaction_id == "4200002611202611251234567001"
    assert refund.charge is not None and refund.charge["order_id"] == "A1001"
    assert refund.charge["amount_minor"] == 8800


def test_a_malformed_wechat_bill_names_each_bad_line():
    report = read("wechat_pay_tradebill_malformed.csv")
    assert report.problems == [
        (3, "订单金额 '8x.00' is not a decimal number like 99.00"),
        (4, "交易状态 'WHATEVER' is not one of SUCCESS, REVOKED, PAYERROR, CLOSED, NOTPAY, USERPAYING, "
            "REFUND"),
        (5, "transaction 4200002611202611251234567001 repeats line 2"),
    ]


def test_a_failed_wechat_refund_does_not_count():
    text = (SAMPLES / "wechat_pay_tradebill.csv").read_text(encoding="utf-8-sig")
    report = read_export(text.replace("`ORIGINAL,`SUCCESS", "`ORIGINAL,`FAIL").encode(), ZONE)
    assert (report.unfinished_refunds, report.refunds, report.partial_refunds) == (2, [], [])
    assert by_id(report)["4200002611202611251234567005"]["status"] == "succeeded"


# Alipay


def test_an_alipay_bill_in_gbk_with_hash_lines_and_tabs():
    report = read("alipay_business_details.csv")
    assert (report.format, report.encoding, report.problems) == ("alipay", "gbk", [])
    assert summary(report) == (4, 0, 1, 2, ["2026112522001412345678900003"])
    rows = by_id(report)
    first, second = rows["2026112522001412345678900001"], rows["2026112522001412345678900002"]
    assert (first["order_id"], first["payer_id"], first["amount_minor"], first["currency"]) == (
        "B2001", "138****5678", 5900, "CNY")
    assert first["created_at"] == datetime(2026, 11, 25, 2, 15, 9, tzinfo=UTC)  # 完成时间, Beijing time
    assert (second["order_id"], second["payer_id"], second["amount_minor"]) == ("B2002", "138****5678", 5900)
    assert rows["2026112522001412345678900003"]["created_at"] == datetime(2026, 11, 25, 4, 40, tzinfo=UTC)
    assert rows["2026112522001412345678900004"]["status"] == "refunded"  # its -19.90 line


def test_the_alipay_csv_zip_as_downloaded():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("20881234567890120156_20261125_业务明细(汇总).csv",
                         "#支付宝业务汇总查询\n门店编号,门店名称,交易订单总笔数\n,,4\n".encode("gbk"))
        archive.writestr("20881234567890120156_20261125_业务明细.csv",
                         (SAMPLES / "alipay_business_details.csv").read_bytes())
    zipped = read_export(buffer.getvalue(), ZONE)
    assert (zipped.format, zipped.rows) == ("alipay", read("alipay_business_details.csv").rows)


def test_a_zip_without_an_export_is_one_line():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", b"hello,world\n")
    with pytest.raises(UnknownExport, match=r"no export I know \(unknown layout: the header has hello"):
        read_export(buffer.getvalue(), ZONE)
    with pytest.raises(UnknownExport, match="the zip cannot be opened"):
        read_export(b"PK\x03\x04 not really a zip", ZONE)


def test_a_malformed_alipay_bill_names_each_bad_line():
    report = read("alipay_business_details_malformed.csv")
    assert report.problems == [
        (7, "完成时间 '昨天下午' is not a time like 2026-11-25 14:32:05"),
        (8, "业务类型 '转账' is neither 交易 nor 退款"),
        (9, "订单金额（元） '199.001' has more than 2 decimals for CNY"),
    ]
    # a refund line with only negative amounts cannot describe its charge: the database must know it
    [refund] = report.refunds
    assert (refund.line, refund.amount_minor, refund.charge) == (10, 5900, None)


# Stripe


def test_a_stripe_export_in_title_case():
    report = read("stripe_unified_payments.csv", ZoneInfo("Asia/Tokyo"))  # times are UTC whatever the zone
    assert (report.format, report.problems) == ("stripe", [])
    assert summary(report) == (5, 1, 1, 2, ["ch_3QAbcdEFgh000003"])
    rows = by_id(report)
    keys = ("order_id", "payer_id", "amount_minor", "currency", "status")
    seen = [tuple(row[k] for k in keys) for row in rows.values()]
    assert seen == [
        ("A1001", "cus_R1a2B3c4D5e6F7", 5900, "USD", "succeeded"),
        ("A1002", "cus_R1a2B3c4D5e6F7", 5900, "USD", "succeeded"),  # the duplicate, a minute later
        ("A1003", "bo@example.com", 12000, "USD", "succeeded"),  # from the description; partly refunded
        ("A1004", "cus_R1a2B3c4D5e6F9", 3500, "USD", "failed"),
        ("ch_3QAbcdEFgh000005", "cus_R1a2B3c4D5e6F9", 1500, "USD", "pending"),  # no order number anywhere
        ("A1006", "cus_R1a2B3c4D5e6G0", 125000, "USD", "refunded"),
    ]
    assert rows["ch_3QAbcdEFgh000002"]["created_at"] == datetime(2026, 11, 25, 6, 33, tzinfo=UTC)
    assert rows["ch_3QAbcdEFgh000001"]["method"] == "card"


def test_an_older_snake_case_stripe_export():
    report = read("stripe_payments_legacy.csv")
    assert report.problems == []
    assert [(r["order_id"], r["amount_minor"], r["currency"], r["status"]) for r in report.rows] == [
        ("A0501", 2500, "EUR", "succeeded"), ("A0502", 2500, "EUR", "refunded")]


@pytest.mark.parametrize(
    ("status", "refunded", "saved", "partial"),
    [
        ("Paid", "0.00", "succeeded", []),
        ("succeeded", "", "succeeded", []),
        ("Paid", "5.00", "succeeded", ["ch_1"]),  # older exports: refunded in part, still Paid
        ("partially_refunded", "5.00", "succeeded", ["ch_1"]),
        ("Refunded", "", "refunded", []),
        ("refunded", "20.00", "refunded", []),
        ("Failed", "0.00", "failed", []),
        ("Uncaptured", "0.00", "pending", []),
        ("requires_capture", "", "pending", []),
    ],
)
def test_stripe_statuses(status, refunded, saved, partial):
    data = ("id,created,amount,amount_refunded,currency,status\n"
            f"ch_1,2026-11-25 06:32,20.00,{refunded},usd,{status}\n")
    report = read_export(data.encode(), ZONE)
    assert report.problems == []
    assert ([row["status"] for row in report.rows], report.partial_refunds) == ([saved], partial)


def test_a_partial_refund_needs_its_amount():
    data = "id,created,amount,currency,status\nch_1,2026-11-25 06:32,20.00,usd,Partially refunded\n"
    assert read_export(data.encode(), ZONE).problems == [
        (2, "a Partially refunded charge needs the Amount Refunded column")]


@pytest.mark.parametrize(
    ("description", "order"),
    [("Order #A1001", "A1001"), ("Order A1001", "A1001"), ("order no. 20261125-7", "20261125-7"),
     ("Order of 2 pizzas, order: Z99", "Z99"), ("订单号：A1001", "A1001"), ("Gift card", None), ("", None)],
)
def test_the_order_number_in_a_stripe_description(description, order):
    assert order_in_description(description) == order


def test_a_malformed_stripe_export_names_each_bad_line():
    assert read("stripe_unified_payments_malformed.csv").problems == [
        (3, "Currency 'ZZZ' is not an ISO 4217 code"),
        (4, "Status 'exploded' is not one of Paid, Refunded, Partially refunded, Failed, Uncaptured"),
        (5, "Amount -15.00 must be a positive number"),
    ]


# Our own layout, unknown layouts


def test_our_own_csv_is_still_read_as_before():
    data = ("transaction_id,order_id,payer_id,amount,currency,status,created_at,telegram_id\r\n"
            "tx1,A1,p1,99.00,cny,Succeeded,2026-11-25 14:32,424242\r\n")
    report = read_export(data.encode("utf-8-sig"), ZONE)
    assert (report.format, report.problems) == ("own", [])
    [row] = report.rows
    assert (row["amount_minor"], row["currency"], row["telegram_id"]) == (9900, "CNY", 424242)
    assert row["created_at"].utcoffset().total_seconds() == 8 * 3600  # read in the configured zone


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", (1, "the file is empty (expected a header line)")),
        (b"transaction_id,amount\ntx1,5\n", (1, "the header lacks order_id, payer_id, currency, status")),
        (b"transaction_id,order_id,payer_id,amount,currency,status,created_at\n"
         b"tx1,A1,p1,99.00,CNY,succeeded,2026-11-25 14:32,extra\n", (2, "the row has more fields")),
    ],
)
def test_our_own_csv_problems(data, problem):
    [(line, reason)] = read_export(data, ZONE).problems
    assert line == problem[0] and reason.startswith(problem[1])


def test_an_unknown_layout_is_one_line_naming_its_columns_and_the_known_ones():
    data = "日期,金额,备注,对方,渠道,流水号,余额\n2026-11-25,88.00,会员,张三,微信,123,0\n".encode("gbk")
    with pytest.raises(UnknownExport) as refused:
        read_export(data, ZONE)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("unknown layout: the header has 日期, 金额, 备注, 对方, 渠道, 流水号, …; known")
    for known in ("transaction_id,order_id", "WeChat Pay trade bill", "Alipay merchant bill", "Stripe"):
        assert known in message


def test_bytes_that_are_neither_utf8_nor_gbk_are_one_line():
    with pytest.raises(UnknownExport, match="neither UTF-8 nor GBK"):
        read_export("transaction_id,order_id\n".encode("utf-16"), ZONE)


def test_progress_is_called_once_per_line():
    seen: list[int] = []
    read_export((SAMPLES / "stripe_unified_payments.csv").read_bytes(), ZONE, on_row=lambda: seen.append(1))
    assert len(seen) == 6


# Refunds of charges outside the file


def charge(transaction_id: str, amount_minor: int = 8800, currency: str = "CNY") -> dict:
    return new_charge(transaction_id=transaction_id, order_id="A1", payer_id="p1", amount_minor=amount_minor,
                      currency=currency, status="succeeded", created_at=datetime(2026, 11, 25, tzinfo=UTC))


def report_with(*refunds: RefundRow) -> ExportReport:
    return ExportReport("wechat_pay", "WeChat Pay", refunds=list(refunds))


def test_refunds_of_charges_the_database_knows():
    report = report_with(RefundRow(2, "full", 8800, "CNY"), RefundRow(3, "part", 100, "CNY"),
                         RefundRow(4, "twice", 4400, "CNY"), RefundRow(5, "twice", 4400, "CNY"))
    assert list(refunds_outside_file(report)) == ["full", "part", "twice"]
    settle_refunds_outside_file(report, dict.fromkeys(["full", "part", "twice"], (8800, "CNY")))
    assert (report.refunded_in_database, report.partial_refunds) == (["full", "twice"], ["part"])
    assert report.problems == []
    assert report.rows == [] and report.refunded == 2


def test_refunds_of_charges_nowhere_are_recorded_from_their_line_or_refused():
    report = report_with(RefundRow(2, "described", 8800, "CNY", charge("described")),
                         RefundRow(3, "partly", 800, "CNY", charge("partly")),
                         RefundRow(4, "bare", 5900, "CNY"))
    settle_refunds_outside_file(report, {})
    assert [(row["transaction_id"], row["status"]) for row in report.rows] == [
        ("described", "refunded"), ("partly", "succeeded")]
    assert report.partial_refunds == ["partly"]
    assert report.problems == [(4, "refund of bare: its charge is neither in this file nor in the database "
                                   "(import the export with the payment first)")]


def test_a_refund_in_another_currency_than_its_charge_is_a_problem():
    report = report_with(RefundRow(7, "tx", 100, "USD"))
    settle_refunds_outside_file(report, {"tx": (8800, "CNY")})
    assert report.problems == [(7, "refund of tx in USD for a charge in CNY")]
    assert report.refunded_in_database == []


@pytest.mark.parametrize("when", ["9999-12-31 23:59:59", "1999-12-31 23:59:59", "0001-01-01 00:00:00"])
def test_a_time_no_payment_could_have_is_a_problem_line_not_a_traceback(when):
    from handlers.exports.cells import moment

    with pytest.raises(ValueError, match="not a plausible payment time"):
        moment(when, "交易时间", ZoneInfo("Asia/Shanghai"))
