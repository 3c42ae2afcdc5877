"""The merchant's CSV: each row checked, with a line number and a reason."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.transaction_csv import check_header, read_rows

ZONE = ZoneInfo("Asia/Shanghai")
GOOD = {"transaction_id": "tx1", "order_id": "A1", "payer_id": "p1", "amount": "99.00",
        "currency": "cny", "status": "Succeeded", "created_at": "2026-11-25T14:32:00+08:00"}


def test_a_good_row_becomes_minor_units_and_utc():
    report = read_rows([(2, GOOD)], ZONE)
    assert report.problems == []
    [row] = report.rows
    assert row["amount_minor"] == 9900 and row["currency"] == "CNY" and row["status"] == "succeeded"
    assert row["created_at"] == datetime(2026, 11, 25, 6, 32, tzinfo=UTC)


def test_a_time_without_zone_is_read_in_the_configured_zone():
    [row] = read_rows([(2, {**GOOD, "created_at": "2026-11-25 14:32"})], ZONE).rows
    assert row["created_at"].utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"transaction_id": ""}, "transaction_id is empty"),
        ({"order_id": "x" * 65}, "order_id is longer than 64"),
        ({"amount": "abc"}, "not a decimal number"),
        ({"amount": "-5"}, "must be a positive"),
        ({"amount": "NaN"}, "must be a positive"),
        ({"amount": "99.001"}, "more than 2 decimals"),
        ({"currency": "XYZ"}, "not an ISO 4217"),
        ({"status": "done"}, "is not one of"),
        ({"created_at": "yesterday"}, "not an ISO 8601"),
    ],
)
def test_bad_rows_are_reported_with_their_line(change, reason):
    report = read_rows([(2, GOOD), (3, {**GOOD, "transaction_id": "tx2", **change})], ZONE)
    [(line, message)] = report.problems
    assert line == 3 and reason in message


def test_a_repeated_transaction_id_is_a_problem():
    report = read_rows([(2, GOOD), (3, GOOD)], ZONE)
    assert report.problems == [(3, "transaction_id repeats line 2")]


def test_header_must_name_every_column():
    assert check_header(None).startswith("the file is empty")
    assert "lacks amount" in check_header(["transaction_id", "order_id", "payer_id", "currency",
                                           "status", "created_at"])
    assert check_header(list(GOOD)) is None


def test_an_optional_payment_method_column():
    [row] = read_rows([(2, {**GOOD, "method": " Wallet "})], ZONE).rows
    assert row["method"] == "wallet"
    assert read_rows([(2, GOOD)], ZONE).rows[0]["method"] is None
    [(line, message)] = read_rows([(2, {**GOOD, "method": "credit card!"})], ZONE).problems
    assert line == 2 and "short word" in message


def test_a_telegram_id_links_the_rows_payer_to_that_telegram_user():
    [row] = read_rows([(2, {**GOOD, "telegram_id": " 424242 "})], ZONE).rows
    assert (row["payer_id"], row["telegram_id"]) == ("p1", 424242)
    assert read_rows([(2, GOOD)], ZONE).rows[0]["telegram_id"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"telegram_id": "@ann"}, "telegram_id '@ann' must be a Telegram user id"),
        ({"telegram_id": "-5"}, "telegram_id '-5' must be a Telegram user id"),
        ({"telegram_id": "9" * 16}, "must be a Telegram user id"),
        ({"telegram_id": "42", "payer_id": ""}, "telegram_id needs a payer_id on the same row"),
    ],
)
def test_a_bad_telegram_id_is_refused_with_its_line(change, reason):
    [(line, message)] = read_rows([(7, {**GOOD, **change})], ZONE).problems
    assert line == 7 and reason in message
