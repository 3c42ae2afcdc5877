"""The live payment feed over real HTTP: signed events in, charges stored once, new ones to the watch."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlmodel import select

import handlers.payment_feed as payment_feed
from bot.config import load_settings
from bot.http_api import refund_status_app, serve_http, serve_merchant_endpoints
from bot.providers.ledger import LedgerProvider
from bot.signing import sign
from bot.wiring import build_services
from handlers.delivery.notices import Notifier
from handlers.durations import Eta, parse_intervals
from handlers.monitor.arrivals import ChargeWatch, Source
from handlers.payment_events import MAX_EVENTS
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.texts import Texts
from storage.database import Database
from storage.models import Transaction

SECRET = "whsec_feed_Hq2vN8xL4"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
SHANGHAI = ZoneInfo("Asia/Shanghai")


def event(transaction_id: str = "tx-1", kind: str = "charge.succeeded", **fields: object) -> dict:
    return {"type": kind, "transaction_id": transaction_id, "order_id": "20261126001", "payer_id": "payer-7",
            "amount": "88.00", "currency": "CNY", "created_at": "2026-11-26T15:59:30+08:00", **fields}


@dataclass
class Watched:
    """What the feed handed to the watch (charges_arrived) and what it sent afterwards."""

    arrived: list[tuple[list[str], Source, datetime]] = field(default_factory=list)
    stored_when_arrived: list[list[str]] = field(default_factory=list)
    sent: list[list[str]] = field(default_factory=list)
    calls_to_return: list[str] = field(default_factory=list)


@dataclass
class Feed:
    db: Database
    http: aiohttp.ClientSession
    url: str
    watched: Watched

    async def post(self, body: dict | list | bytes | str, *, timestamp: int = STAMP, secret: str = SECRET,
                   signed: bool = True) -> tuple[int, dict]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers |= {"X-Refund-Timestamp": str(timestamp),
                        "X-Refund-Signature": sign(secret, timestamp, raw)}
        async with self.http.post(f"{self.url}/api/payments", data=raw, headers=headers) as response:
            return response.status, await response.json()

    async def charges(self) -> dict[str, tuple]:
        """Every stored charge: id → (order, payer, minor, currency, status, created_at, method)."""
        async with self.db.transaction() as session:
            rows = (await session.exec(select(Transaction))).all()
        return {r.transaction_id: (r.order_id, r.payer_id, r.amount_minor, r.currency, r.status, r.created_at,
                                   r.method) for r in rows}


def _watch() -> ChargeWatch:
    policy = RefundPolicy(
        provider=LedgerProvider(),
        schedule=UpdateSchedule(parse_intervals("1d"), None, ZoneInfo("UTC"), timedelta(days=2)),
        eta=Eta.parse("10bd"),
        notifier=Notifier(Texts.load(), support_chat_id=None, support_locale="en"),
    )
    return ChargeWatch(policy=policy, texts=Texts.load())


@pytest.fixture
async def feed(db: Database, monkeypatch) -> AsyncIterator[Feed]:
    watched = Watched()

    async def charges_arrived(session, watch, charges, *, now, source):
        """Records the call, and what the same transaction already holds of those charges."""
        transaction_ids = [charge.transaction_id for charge in charges]
        watched.arrived.append((list(transaction_ids), source, now))
        query = select(Transaction.transaction_id).where(Transaction.transaction_id.in_(transaction_ids))
        watched.stored_when_arrived.append(sorted((await session.exec(query)).all()))
        return list(watched.calls_to_return)

    async def send_refund_requests(database, policy, clock, calls):
        """Sending happens after the commit: a new transaction must see the charges stored."""
        if calls:
            async with asyncio.timeout(5):  # on SQLite a transaction still open would hold the write lock
                async with database.transaction() as session:
                    stored = (await session.exec(select(Transaction.transaction_id))).all()
            watched.sent.append([*calls, f"committed:{len(stored)}"])
        return []

    monkeypatch.setattr(payment_feed, "charges_arrived", charges_arrived)
    monkeypatch.setattr(payment_feed, "send_refund_requests", send_refund_requests)
    app = refund_status_app(db, _watch().policy, SECRET, lambda: NOW, watch=_watch(), zone=SHANGHAI)
    runner = await serve_http(app, "127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield Feed(db, http, f"http://127.0.0.1:{runner.addresses[0][1]}", watched)
    await runner.cleanup()


def counts(stored: int = 0, duplicates: int = 0, ignored: int = 0) -> dict:
    return {"ok": True, "stored": stored, "duplicates": duplicates, "ignored": ignored}


def summary(answer: dict) -> dict:
    return {key: answer[key] for key in ("ok", "stored", "duplicates", "ignored")}


async def test_one_event_is_stored_and_handed_to_the_watch(feed):
    status, answer = await feed.post(event(method="Card"))

    assert status == 200 and summary(answer) == counts(stored=1)
    assert answer["events"] == [{"index": 0, "transaction_id": "tx-1", "outcome": "stored",
                                 "duplicate": False, "status": "succeeded"}]
    assert await feed.charges() == {
        "tx-1": ("20261126001", "payer-7", 8800, "CNY", "succeeded",
                 datetime(2026, 11, 26, 7, 59, 30, tzinfo=UTC), "card"),
    }
    assert feed.watched.arrived == [(["tx-1"], Source.FEED, NOW)]
    assert feed.watched.stored_when_arrived == [["tx-1"]]  # the same transaction, after the charge is written


async def test_a_batch_is_stored_and_only_charges_that_succeeded_are_watched(feed):
    batch = {"events": [
        event("tx-1"),
        event("tx-2", "charge.failed", amount="12.50", payer_id=None),
        event("tx-3", "charge.pending", currency="jpy", amount="1200", created_at="2026-11-26T10:00:00"),
        event("tx-4", order_id="20261126002"),
    ]}

    status, answer = await feed.post(batch)

    assert status == 200 and summary(answer) == counts(stored=4)
    charges = await feed.charges()
    assert {tid: charge[4] for tid, charge in charges.items()} == {
        "tx-1": "succeeded", "tx-2": "failed", "tx-3": "pending", "tx-4": "succeeded"}
    assert charges["tx-2"][1:4] == ("", 1250, "CNY")
    assert charges["tx-3"][2:4] == (1200, "JPY")
    assert charges["tx-3"][5] == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # a naive time is Shanghai time
    assert feed.watched.arrived == [(["tx-1", "tx-4"], Source.FEED, NOW)]


async def test_a_pending_charge_that_succeeds_later_is_watched_then(feed):
    assert (await feed.post(event(kind="charge.pending")))[0] == 200
    assert feed.watched.arrived == []

    status, answer = await feed.post(event())

    assert status == 200 and summary(answer) == counts(stored=1)
    assert (await feed.charges())["tx-1"][4] == "succeeded"
    assert [ids for ids, _, _ in feed.watched.arrived] == [["tx-1"]]


async def test_the_same_signed_request_twice_stores_once(feed):
    body = {"events": [event("tx-1"), event("tx-2", amount="5.00")]}

    first = await feed.post(body)
    stored = await feed.charges()
    status, answer = await feed.post(body)

    assert first[0] == 200 and summary(first[1]) == counts(stored=2)
    assert status == 200 and summary(answer) == counts(duplicates=2)
    assert [(e["transaction_id"], e["duplicate"], e["outcome"]) for e in answer["events"]] == [
        ("tx-1", True, "duplicate"), ("tx-2", True, "duplicate")]
    assert await feed.charges() == stored
    assert len(feed.watched.arrived) == 1  # nothing new the second time


async def test_requests_racing_with_the_same_new_charge_store_it_once(feed):
    answers = await asyncio.gather(*(feed.post(event()) for _ in range(4)))

    assert [status for status, _ in answers] == [200] * 4
    assert sorted(answer["stored"] for _, answer in answers) == [0, 0, 0, 1]
    assert sum(answer["duplicates"] for _, answer in answers) == 3
    assert list(await feed.charges()) == ["tx-1"]
    assert [ids for ids, _, _ in feed.watched.arrived] == [["tx-1"]]


async def test_a_refunded_charge_never_goes_back_to_succeeded(feed):
    assert (await feed.post(event()))[0] == 200
    assert summary((await feed.post(event(kind="charge.refunded")))[1]) == counts(stored=1)

    status, answer = await feed.post(event())  # the older news arrives late

    assert status == 200 and summary(answer) == counts(ignored=1)
    [result] = answer["events"]
    assert (result["outcome"], result["duplicate"], result["status"]) == ("ignored", False, "refunded")
    assert "already refunded" in result["reason"]
    assert (await feed.charges())["tx-1"][4] == "refunded"
    assert len(feed.watched.arrived) == 1


async def test_events_of_one_charge_in_one_batch_apply_in_order(feed):
    batch = {"events": [event(kind="charge.pending"), event(), event(kind="charge.refunded"), event()]}

    status, answer = await feed.post(batch)

    assert status == 200 and summary(answer) == counts(stored=3, ignored=1)
    assert [e["status"] for e in answer["events"]] == ["pending", "succeeded", "refunded", "refunded"]
    assert (await feed.charges())["tx-1"][4] == "refunded"
    assert feed.watched.arrived == []  # it did not stay a successful charge


async def test_a_refund_of_an_unknown_charge_is_recorded_as_refunded(feed):
    status, answer = await feed.post(event("tx-9", "charge.refunded"))

    assert status == 200 and summary(answer) == counts(stored=1)
    assert (await feed.charges())["tx-9"][4] == "refunded"
    assert feed.watched.arrived == []


async def test_an_event_contradicting_the_recorded_charge_is_ignored(feed):
    assert (await feed.post(event(kind="charge.pending")))[0] == 200

    status, answer = await feed.post(event(amount="99.00"))

    assert status == 200 and summary(answer) == counts(ignored=1)
    assert answer["events"][0]["reason"].startswith("amount_minor not as recorded")
    assert (await feed.charges())["tx-1"][2:5] == (8800, "CNY", "pending")


async def test_refund_calls_are_sent_after_the_commit(feed):
    feed.watched.calls_to_return = ["refund-call-1"]

    status, _ = await feed.post(event())

    assert status == 200
    assert feed.watched.sent == [["refund-call-1", "committed:1"]]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"signed": False}, "missing signature headers"),
        ({"secret": "whsec_guess"}, "wrong signature"),
        ({"timestamp": STAMP - 6 * 60}, "timestamp too old (replayed?)"),
        ({"timestamp": STAMP + 6 * 60}, "timestamp in the future"),
    ],
    ids=["unsigned", "wrong-signature", "replayed", "future"],
)
async def test_an_untrusted_request_is_refused_and_stores_nothing(feed, caplog, options, reason):
    caplog.set_level(logging.DEBUG)

    status, answer = await feed.post(event(), **options)

    assert (status, answer) == (401, {"ok": False, "error": reason})
    assert await feed.charges() == {} and feed.watched.arrived == []
    assert reason in caplog.text  # the refusal is logged with its reason …
    assert SECRET not in caplog.text and "20261126001" not in caplog.text  # … never the secret or the body


async def test_a_bad_event_in_a_batch_refuses_the_whole_batch(feed):
    batch = {"events": [event("tx-1"), event("tx-2"), event("tx-3", currency="XXXX"),
                        event("tx-4", order_id="")]}

    status, answer = await feed.post(batch)

    assert status == 400 and answer["ok"] is False
    assert answer["error"].startswith("bad events, nothing stored: events[2]: currency")
    assert [p["index"] for p in answer["problems"]] == [2, 3]
    assert answer["problems"][1]["error"] == "events[3]: order_id is empty"
    assert await feed.charges() == {} and feed.watched.arrived == []


@pytest.mark.parametrize("amount", [88.0, 88, "88.001", "8.8e1", "-88.00", "0.00"])
async def test_an_amount_that_is_not_an_exact_decimal_string_is_refused(feed, amount):
    status, answer = await feed.post(event(amount=amount))

    assert status == 400 and answer["problems"][0]["index"] == 0
    assert "amount" in answer["problems"][0]["error"]
    assert await feed.charges() == {}


async def test_a_float_amount_says_why(feed):
    _, answer = await feed.post(event(amount=88.0))

    assert answer["problems"] == [{"index": 0, "error": 'events[0]: amount must be a decimal string like '
                                   '"88.00", not a JSON number (floats lose cents)'}]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([event()], "bad events, nothing stored: the body must be a JSON object"),
        ("charge.succeeded", "bad events, nothing stored: the body must be a JSON object"),
        (None, "bad events, nothing stored: the body must be a JSON object"),
        ({"events": []}, "bad events, nothing stored: events must be a non-empty JSON array"),
        ({"events": {"0": event()}}, "bad events, nothing stored: events must be a non-empty JSON array"),
        ({"events": [event(), "tx-2"]}, "bad events, nothing stored: events[1]: an event must be a JSON"),
        (b'{"type": "charge.succeeded"', "bad body"),
        (b"\xff\xfe not utf-8", "bad body"),
    ],
    ids=["array", "string", "null", "empty-batch", "events-not-a-list", "event-not-an-object", "invalid-json",
         "not-utf8"],
)
async def test_a_body_that_is_not_events_is_a_bad_request(feed, body, error):
    status, answer = await feed.post(body)

    assert status == 400 and answer["ok"] is False and answer["error"].startswith(error)
    assert await feed.charges() == {}


@pytest.mark.parametrize(
    "body",
    [
        {"reference": "RF-AAAA2222", "transaction_id": "tx-2", "amount": "99.00", "currency": "CNY"},
        {"reference": "RF-AAAA2222", "status": "succeeded", "bank_reference": "BR-1"},
    ],
    ids=["our-refund-request", "a-status-push"],
)
async def test_a_signed_body_meant_for_another_endpoint_stores_nothing(feed, body):
    status, answer = await feed.post(body)

    assert status == 400 and answer["problems"] == [{"index": 0, "error": "events[0]: type is missing"}]
    assert await feed.charges() == {}


async def test_a_deeply_nested_body_is_a_bad_request(feed):
    nested = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    status, answer = await feed.post(nested)

    assert (status, answer) == (400, {"ok": False, "error": "bad body: nested too deeply"})


async def test_nesting_inside_an_event_names_the_field(feed):
    status, answer = await feed.post(event(order_id=[[[["20261126001"]]]]))

    assert status == 400 and answer["problems"][0]["error"] == "events[0]: order_id must be a string"


async def test_a_full_batch_is_accepted_though_larger_than_the_status_cap(feed):
    batch = {"events": [event(f"tx-{n:060d}", order_id=f"order-{n:058d}") for n in range(MAX_EVENTS)]}
    raw = json.dumps(batch, indent=2).encode()
    assert len(raw) > 64 * 1024

    status, answer = await feed.post(raw)

    assert status == 200 and summary(answer) == counts(stored=MAX_EVENTS)
    assert len(await feed.charges()) == MAX_EVENTS
    assert len(feed.watched.arrived[0][0]) == MAX_EVENTS


async def test_one_event_too_many_is_refused(feed):
    batch = {"events": [event(f"tx-{n}") for n in range(MAX_EVENTS + 1)]}

    status, answer = await feed.post(batch)

    assert status == 400 and answer["error"].endswith(f"at most {MAX_EVENTS} events, not {MAX_EVENTS + 1}")
    assert await feed.charges() == {}


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
async def test_a_huge_body_is_refused_before_it_is_read_whole(feed, signed):
    huge = json.dumps({"events": [event(f"tx-{n}", padding="x" * 1000) for n in range(600)]}).encode()

    status, answer = await feed.post(huge, signed=signed)

    assert status == 413 and answer["ok"] is False and answer["error"].startswith("body larger than")
    assert await feed.charges() == {}


async def test_the_status_endpoint_keeps_its_own_smaller_cap(feed):
    raw = json.dumps({"reference": "RF-AAAA2222", "status": "pending", "padding": "x" * 70_000}).encode()
    headers = {"X-Refund-Timestamp": str(STAMP), "X-Refund-Signature": sign(SECRET, STAMP, raw)}

    url = f"{feed.url}/api/refunds/RF-AAAA2222/status"
    async with feed.http.post(url, data=raw, headers=headers) as answer:
        assert answer.status == 413


async def test_without_a_watch_events_are_only_stored(db):
    app = refund_status_app(db, _watch().policy, SECRET, lambda: NOW)
    runner = await serve_http(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            feed = Feed(db, http, f"http://127.0.0.1:{runner.addresses[0][1]}", Watched())
            status, answer = await feed.post(event(created_at="2026-11-26T10:00:00"))
            charges = await feed.charges()
    finally:
        await runner.cleanup()

    assert status == 200 and summary(answer) == counts(stored=1)
    assert charges["tx-1"][5] == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # naive: the default zone, UTC


async def test_the_bot_serves_the_feed_with_the_ledger_provider_when_the_secret_is_set(tmp_path):
    settings = load_settings(bot_token="1:x", merchant_webhook_secret=SECRET, http_port=0,
                             data_dir=tmp_path / "data", timezone="Asia/Shanghai")
    services = await build_services(settings, clock=lambda: NOW)
    runner = await serve_merchant_endpoints(services)
    try:
        async with aiohttp.ClientSession() as http:
            feed = Feed(services.db, http, f"http://127.0.0.1:{runner.addresses[0][1]}", Watched())
            status, answer = await feed.post(event(created_at="2026-11-26T10:00:00"))
            charges = await feed.charges()
    finally:
        await runner.cleanup()
        await services.close()

    assert settings.payment_provider == "ledger"
    assert status == 200 and summary(answer) == counts(stored=1)
    assert charges["tx-1"][5] == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # read in TIMEZONE


async def test_the_merchant_endpoints_need_the_secret(tmp_path):
    settings = load_settings(bot_token="1:x", http_port=0, data_dir=tmp_path / "data")
    services = await build_services(settings, migrate=False)
    try:
        with pytest.raises(ValueError, match="MERCHANT_WEBHOOK_SECRET is not set"):
            await serve_merchant_endpoints(services)
    finally:
        await services.close()
