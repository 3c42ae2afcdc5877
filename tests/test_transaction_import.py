"""Saving an export: all rows or none, refunds of charges imported earlier, on both databases."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.transaction_import import RefundsWithoutCharge, import_summary, save_all
from handlers.exports.detect import read_export
from handlers.exports.report import ExportReport
from storage.transactions import charges_of_order, charges_with_ids

SAMPLES = Path(__file__).resolve().parent / "samples" / "exports"
ZONE = ZoneInfo("Asia/Shanghai")
A1001 = "4200002611202611251234567001"


def sample(name: str) -> ExportReport:
    return read_export((SAMPLES / name).read_bytes(), ZONE)


async def statuses(db, *transaction_ids: str) -> dict[str, str]:
    async with db.transaction() as session:
        charges = await charges_with_ids(session, transaction_ids=transaction_ids)
    return {charge.transaction_id: charge.status for charge in charges}


async def test_a_bill_is_saved_and_the_succeeded_charges_returned(db):
    saved = await save_all(db, sample("wechat_pay_tradebill.csv"), progress=False)
    assert saved == [A1001, "4200002611202611251234567002", "4200002611202611251234567003"]
    async with db.transaction() as session:
        [charge] = await charges_of_order(session, order_id="A1005")
    assert (charge.status, charge.amount_minor, charge.method) == ("refunded", 6600, "wallet")


async def test_next_days_refund_marks_the_charge_imported_earlier(db):
    await save_all(db, sample("wechat_pay_tradebill.csv"), progress=False)
    next_day = sample("wechat_pay_tradebill_next_day.csv")
    assert await save_all(db, next_day, progress=False) == []
    assert next_day.refunded_in_database == [A1001] and next_day.rows == []
    assert import_summary(next_day).splitlines() == [
        "imported 0 transaction(s): 0 charge(s), 0 failed payment(s); 1 refund(s): "
        "1 charge(s) refunded in full, 0 in part (left succeeded); 0 problems",
        f"marked refunded, imported earlier: {A1001}",
    ]
    assert await statuses(db, A1001) == {A1001: "refunded"}
    # the older bill imported again does not make the refunded charge paid again
    again = sample("wechat_pay_tradebill.csv")
    assert A1001 not in await save_all(db, again, progress=False)
    assert await statuses(db, A1001) == {A1001: "refunded"}


async def test_a_refund_of_an_unknown_charge_is_recorded_from_its_line(db):
    report = sample("wechat_pay_tradebill_next_day.csv")
    assert await save_all(db, report, progress=False) == []
    assert [(row["transaction_id"], row["status"]) for row in report.rows] == [(A1001, "refunded")]
    assert await statuses(db, A1001) == {A1001: "refunded"}


async def test_a_refund_nothing_describes_saves_nothing(db):
    text = (SAMPLES / "alipay_business_details.csv").read_bytes().decode("gbk")
    lines = text.splitlines()
    bare_refund = next(line for line in lines if "B2003\t,退款" in line).replace("B2003", "B1999").replace(
        "2026112522001412345678900003", "2026112422001412345678900000")
    report = read_export("\n".join([*lines[:9], bare_refund]).encode("gbk"), ZONE)
    assert report.problems == [] and len(report.rows) == 3
    with pytest.raises(RefundsWithoutCharge) as refused:
        await save_all(db, report, progress=False)
    [(line, reason)] = refused.value.problems
    assert line == 10
    assert reason == ("refund of 2026112422001412345678900000: its charge is neither in this file nor in the "
                      "database (import the export with the payment first)")
    assert await statuses(db, *(row["transaction_id"] for row in report.rows)) == {}
