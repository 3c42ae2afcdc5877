"""Payment feed events: what is accepted, what is refused and why, and how events move a charge."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.payment_events import EventsRefused, Outcome, plan_events, read_event, read_events
from storage.models import Transaction, TransactionStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def raw(**fields: object) -> dict:
    event = {"type": "charge.succeeded", "transaction_id": "tx-1", "order_id": "A1", "payer_id": "p-1",
             "amount": "88.00", "currency": "CNY", "created_at": "2026-11-26T10:00:00+08:00"}
    return {key: value for key, value in (event | fields).items() if value is not ...}


def test_an_event_becomes_a_charge_row():
    event = read_event(4, raw(method=" Wallet ", id="evt_1", livemode=False), SHANGHAI)

    assert event.index == 4
    assert event.as_row() == {
        "transaction_id": "tx-1", "order_id": "A1", "payer_id": "p-1", "amount_minor": 8800,
        "currency": "CNY", "status": "succeeded", "created_at": datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
        "method": "wallet",
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "charge.captured"}, "type 'charge.captured' is not one of charge.succeeded"),
        ({"type": ...}, "type is missing"),
        ({"transaction_id": None}, "transaction_id is missing"),
        ({"transaction_id": "  "}, "transaction_id is empty"),
        ({"transaction_id": "x" * 65}, "transaction_id is longer than 64 characters"),
        ({"order_id": "A\n1"}, "order_id contains control characters"),
        ({"order_id": 20261126}, "order_id must be a string"),
        ({"amount": 88.0}, "amount must be a decimal string like \"88.00\", not a JSON number"),
        ({"amount": True}, "amount must be a string"),
        ({"amount": "1_000.00"}, "amount '1_000.00' must be a plain decimal string"),
        ({"amount": "NaN"}, "amount 'NaN' must be a plain decimal string"),
        ({"amount": "1" * 16}, "amount '1111111111111111' must be a plain decimal string"),
        ({"amount": "0"}, "amount '0' must be a positive number"),
        ({"amount": "1.5", "currency": "JPY"}, "amount '1.5' has more than 0 decimals for JPY"),
        ({"currency": "RMB"}, "currency 'RMB' is not an ISO 4217 code"),
        ({"created_at": "yesterday"}, "created_at 'yesterday' is not an ISO 8601 time"),
        ({"payer_id": 7}, "payer_id must be a string"),
        ({"method": "credit card"}, "method 'credit card' must be a short word"),
    ],
)
def test_a_bad_event_says_what_is_wrong(fields, reason):
    with pytest.raises(ValueError) as refusal:
        read_event(0, raw(**fields), SHANGHAI)

    assert str(refusal.value).startswith(reason)


def test_every_bad_event_of_a_batch_is_named_by_its_index():
    with pytest.raises(EventsRefused) as refusal:
        read_events({"events": [raw(), raw(amount=1), raw(), "tx", raw(type="x")]}, SHANGHAI)

    assert [index for index, _ in refusal.value.problems] == [1, 3, 4]
    assert str(refusal.value).startswith("events[1]: amount must be a decimal string")


def test_a_batch_may_be_capped():
    with pytest.raises(EventsRefused, match="at most 2 events, not 3"):
        read_events({"events": [raw(), raw(), raw()]}, SHANGHAI, max_events=2)
    assert len(read_events({"events": [raw(), raw()]}, SHANGHAI, max_events=2)) == 2


def known(status: str, **fields: object) -> dict[str, Transaction]:
    row = {"transaction_id": "tx-1", "order_id": "A1", "payer_id": "", "amount_minor": 8800,
           "currency": "CNY", "status": status, "created_at": datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
           "method": None} | fields
    return {"tx-1": Transaction.model_construct(**row)}


def events(*kinds: str, **fields: object):
    return read_events({"events": [raw(type=f"charge.{kind}", **fields) for kind in kinds]}, SHANGHAI)


S = TransactionStatus


@pytest.mark.parametrize(
    ("stored", "kinds", "outcomes", "final", "succeeded"),
    [
        (None, ["succeeded"], ["stored"], S.SUCCEEDED, ["tx-1"]),
        (None, ["refunded"], ["stored"], S.REFUNDED, []),
        ("pending", ["succeeded"], ["stored"], S.SUCCEEDED, ["tx-1"]),
        ("pending", ["failed", "succeeded"], ["stored", "ignored"], S.FAILED, []),
        ("succeeded", ["succeeded"], ["duplicate"], S.SUCCEEDED, []),
        ("succeeded", ["pending"], ["ignored"], S.SUCCEEDED, []),
        ("succeeded", ["refunded", "succeeded"], ["stored", "ignored"], S.REFUNDED, []),
        ("refunded", ["succeeded", "pending", "failed"], ["ignored"] * 3, S.REFUNDED, []),
        (None, ["pending", "succeeded", "succeeded"], ["stored", "stored", "duplicate"], S.SUCCEEDED,
         ["tx-1"]),
    ],
)
def test_a_charge_only_moves_forward(stored, kinds, outcomes, final, succeeded):
    plan = plan_events(events(*kinds), known(stored) if stored else {})

    assert [result.outcome.value for result in plan.results] == outcomes
    assert plan.results[-1].status is final
    assert plan.succeeded == succeeded
    rows = plan.changes if stored else plan.new_rows
    assert [row["status"] for row in rows] == ([final.value] if final.value != stored else [])


def test_a_move_fills_in_what_the_records_lacked_and_changes_nothing_else():
    plan = plan_events(events("succeeded", method="card", payer_id="p-9"), known("pending", method=None))

    assert plan.changes == [known("pending")["tx-1"].model_dump() | {"status": "succeeded", "payer_id": "p-9",
                                                                     "method": "card"}]
    assert plan.new_rows == []


@pytest.mark.parametrize("fields", [{"amount": "99.00"}, {"currency": "USD"}, {"order_id": "B2"}])
def test_an_event_contradicting_the_charge_changes_nothing(fields):
    plan = plan_events(events("succeeded", **fields), known("pending"))

    assert [result.outcome for result in plan.results] == [Outcome.IGNORED]
    assert "not as recorded" in plan.results[0].reason
    assert plan.changes == [] and plan.succeeded == []


def test_new_rows_are_written_in_key_order():
    batch = read_events({"events": [raw(transaction_id=t) for t in ("tx-c", "tx-a", "tx-b")]}, SHANGHAI)

    plan = plan_events(batch, {})

    assert [row["transaction_id"] for row in plan.new_rows] == ["tx-a", "tx-b", "tx-c"]
    assert plan.succeeded == ["tx-c", "tx-a", "tx-b"]  # the watch hears them in order of arrival
