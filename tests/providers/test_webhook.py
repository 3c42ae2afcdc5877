"""The webhook provider against a local merchant, and the signed endpoint where merchants report back."""

import asyncio
import json
import socket
import traceback
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bot.http_api import refund_status_app, serve_http
from bot.providers.webhook import WebhookProvider
from bot.signing import SignatureError, sign, verify
from handlers.delivery.notices import Notifier
from handlers.durations import Eta, parse_intervals
from handlers.money import Money
from handlers.ports import ProviderError, RefundRequest, RefundState
from handlers.refunds.follow_ups import FollowUps
from handlers.refunds.refunding import RefundPolicy
from handlers.refunds.requests import approve_and_send
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.texts import Texts
from storage.database import Database
from storage.models import Refund, RefundStatus, Ticket, TicketStatus
from storage.outbox import messages_to
from storage.refunds import refund_by_reference
from storage.tickets import add_ticket, audit_of, ticket_by_reference

SECRET = "whsec_Zq8vN3pL6tR1"
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SUPPORT_CHAT = -100123
S = RefundStatus
FIRST, SECOND, UNKNOWN = "RF-AAAA2222", "RF-BBBB3333", "RF-ZZZZ9999"


@dataclass
class Merchant:
    """A merchant's payment back end: checks our signature and refunds once per Idempotency-Key."""

    secret: str
    first_answer: dict | list = field(default_factory=lambda: {"status": "pending"})
    fault: str | None = None  # "error", "not_json" or "hang"
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refunds_per_key: Counter = field(default_factory=Counter)
    answers: dict[str, dict | list] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def refund(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        self.arrived.set()
        if self.fault == "error":
            return web.Response(status=500, text="internal error")
        if self.fault == "not_json":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if self.fault == "hang":
            await self.release.wait()
        try:
            verify(self.secret, timestamp_header=request.headers.get("X-Refund-Timestamp"),
                   signature_header=request.headers.get("X-Refund-Signature"), body=body, now=NOW)
        except SignatureError as refusal:
            return web.json_response({"error": refusal.reason}, status=401)
        key = request.headers.get("Idempotency-Key")
        if not key or key != json.loads(body)["reference"]:
            return web.json_response({"error": "Idempotency-Key must be the reference"}, status=400)
        if key not in self.answers:
            self.refunds_per_key[key] += 1
            self.answers[key] = self.first_answer
        return web.json_response(self.answers[key])


@pytest.fixture
async def merchant() -> AsyncIterator[Merchant]:
    merchant = Merchant(SECRET)
    app = web.Application()
    app.router.add_post("/refunds", merchant.refund)
    runner = await serve_http(app, "127.0.0.1", 0)
    merchant.url = f"http://127.0.0.1:{runner.addresses[0][1]}/refunds"
    yield merchant
    merchant.release.set()
    await runner.cleanup()


@pytest.fixture
async def provider(merchant: Merchant) -> AsyncIterator[WebhookProvider]:
    provider = WebhookProvider(merchant.url, SECRET, timeout=2)
    yield provider
    await provider.close()


def request_for(reference: str = FIRST, minor: int = 9900, currency: str = "CNY") -> RefundRequest:
    return RefundRequest(reference, "tx2", Money.from_minor(minor, currency))


# --- the provider -------------------------------------------------------------------------------------


async def test_create_refund_sends_a_signed_request_keyed_by_the_reference(merchant, provider):
    state = await provider.create_refund(request_for(), now=NOW)

    assert state == RefundState(RefundStatus.PENDING)
    [(headers, body)] = merchant.requests
    assert json.loads(body) == {
        "reference": FIRST, "transaction_id": "tx2", "amount": "99.00", "currency": "CNY"
    }
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == FIRST
    assert headers["X-Refund-Timestamp"] == str(int(NOW.timestamp())) == "1795680000"
    assert headers["X-Refund-Signature"] == sign(SECRET, 1795680000, body)
    assert merchant.refunds_per_key == {FIRST: 1}


async def test_asking_twice_gets_the_same_answer_and_one_refund(merchant, provider):
    first = await provider.create_refund(request_for(), now=NOW)
    again = await provider.create_refund(request_for(), now=NOW + timedelta(seconds=30))

    assert first == again == RefundState(RefundStatus.PENDING)
    assert [h["Idempotency-Key"] for h, _ in merchant.requests] == [FIRST, FIRST]
    assert merchant.refunds_per_key == {FIRST: 1}


@pytest.mark.parametrize(
    ("minor", "currency", "amount"), [(9900, "CNY", "99.00"), (1200, "JPY", "1200"), (1500, "KWD", "1.500")]
)
async def test_the_amount_is_an_exact_decimal_string(merchant, provider, minor, currency, amount):
    await provider.create_refund(request_for(minor=minor, currency=currency), now=NOW)

    sent = json.loads(merchant.requests[0][1])
    assert sent["amount"] == amount and sent["currency"] == currency
    assert Decimal(sent["amount"]) == Money.from_minor(minor, currency).amount


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        ({"status": "succeeded", "bank_reference": "BR-77"}, RefundState(S.SUCCEEDED, None, "BR-77")),
        ({"status": "failed", "failure_reason": "card closed"}, RefundState(S.FAILED, "card closed")),
        ({"status": "failed", "failure_reason": "x" * 300}, RefundState(S.FAILED, "x" * 256)),
    ],
)
async def test_the_merchant_answer_becomes_the_refund_state(merchant, provider, answer, state):
    merchant.first_answer = answer

    assert await provider.create_refund(request_for(), now=NOW) == state


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        (lambda m: setattr(m, "fault", "error"), "HTTP 500"),
        (lambda m: setattr(m, "fault", "not_json"), "answer is unusable"),
        (lambda m: setattr(m, "first_answer", {"status": "refunded"}), "unknown refund status"),
        (lambda m: setattr(m, "first_answer", {"status": SECRET}), "unknown refund status"),
        (lambda m: setattr(m, "first_answer", ["pending"]), "not a JSON object"),
        (lambda m: setattr(m, "first_answer", {"status": "failed", "failure_reason": 7}), "must be a string"),
        (lambda m: setattr(m, "secret", "whsec_rotated"), "HTTP 401"),
        (lambda m: setattr(m, "fault", "hang"), "no answer within 0.2 s"),
        (lambda m: setattr(m, "url", f"http://127.0.0.1:{closed_port()}/refunds"), "could not reach"),
    ],
    ids=["500", "not-json", "unknown-status", "status-echoes-secret", "not-object", "bad-field",
         "wrong-secret", "timeout", "unreachable"],
)
async def test_every_failure_is_a_provider_error_without_the_secret(merchant, setup, detail):
    setup(merchant)
    provider = WebhookProvider(merchant.url, SECRET, timeout=0.2)
    try:
        with pytest.raises(ProviderError) as failure:
            await provider.create_refund(request_for(), now=NOW)
    finally:
        await provider.close()

    message = str(failure.value)
    assert detail in message and FIRST in message
    assert SECRET not in message
    assert SECRET not in "".join(traceback.format_exception(failure.value))


async def test_refund_status_is_what_the_merchant_last_pushed():
    provider = WebhookProvider("http://127.0.0.1:9/refunds", SECRET)
    refund = Refund(ticket_id=1, reference=FIRST, transaction_id="tx2", amount_minor=9900, currency="CNY",
                    provider="webhook", status="failed", failure_reason="card closed", bank_reference=None,
                    created_at=NOW, updated_at=NOW)

    assert await provider.refund_status(refund, now=NOW) == RefundState(RefundStatus.FAILED, "card closed")
    refund.status, refund.failure_reason, refund.bank_reference = "succeeded", None, "BR-9"
    assert await provider.refund_status(refund, now=NOW) == RefundState(RefundStatus.SUCCEEDED, None, "BR-9")
    await provider.close()


async def test_close_ends_the_session_and_a_later_call_opens_a_new_one(merchant, provider):
    await provider.create_refund(request_for(), now=NOW)
    await provider.close()
    await provider.close()

    assert await provider.create_refund(request_for(SECOND), now=NOW) == RefundState(RefundStatus.PENDING)
    assert merchant.refunds_per_key == {FIRST: 1, SECOND: 1}


# --- the status endpoint ------------------------------------------------------------------------------


def ticket(reference: str, user_id: int, order_id: str, report_key: str) -> Ticket:
    return Ticket(reference=reference, user_id=user_id, chat_id=user_id, locale="en", order_id=order_id,
                  amount_minor=9900, currency="CNY", paid_at=NOW - timedelta(days=1), status="verified",
                  report_key=report_key, open_order_key=f"{user_id}:{order_id}", created_at=NOW,
                  updated_at=NOW)


@dataclass
class Desk:
    """Two approved tickets refunded through the merchant, and our endpoint serving on a free port."""

    db: Database
    merchant: Merchant
    http: aiohttp.ClientSession
    url: str
    ticket_ids: dict[str, int]

    async def post(self, reference: str, body: dict | bytes, *, timestamp: int | None = None,
                   secret: str = SECRET, signed: bool = True) -> tuple[int, dict]:
        raw = body if isinstance(body, bytes) else json.dumps({"reference": reference, **body}).encode()
        stamp = int(LATER.timestamp()) if timestamp is None else timestamp
        headers = {"Content-Type": "application/json"}
        if signed:
            headers |= {"X-Refund-Timestamp": str(stamp), "X-Refund-Signature": sign(secret, stamp, raw)}
        url = f"{self.url}/api/refunds/{reference}/status"
        async with self.http.post(url, data=raw, headers=headers) as response:
            return response.status, await response.json()

    async def snapshot(self, reference: str) -> dict:
        """Everything a notification could change about one ticket."""
        async with self.db.transaction() as session:
            ticket = await ticket_by_reference(session, reference=reference)
            refund = await refund_by_reference(session, reference=reference)
            outbox = await messages_to(session, chat_id=ticket.chat_id)
            support = await messages_to(session, chat_id=SUPPORT_CHAT)
            audit = await audit_of(session, ticket_id=ticket.id)
            return {
                "ticket": ticket.model_dump(),
                "refund": refund.model_dump(),
                "outbox": [m.dedupe_key for m in outbox + support if f":{ticket.id}:" in m.dedupe_key],
                "audit": [(a.from_status, a.to_status, a.actor) for a in audit],
            }


@pytest.fixture
async def desk(db: Database, merchant: Merchant) -> AsyncIterator[Desk]:
    provider = WebhookProvider(merchant.url, SECRET, timeout=2)
    policy = RefundPolicy(
        provider=provider,
        schedule=UpdateSchedule(parse_intervals("1d,2d,4d,7d"), None, ZoneInfo("UTC"), timedelta(days=2)),
        eta=Eta.parse("10bd"),
        notifier=Notifier(Texts.load(), support_chat_id=SUPPORT_CHAT, support_locale="en"),
    )
    ids = {}
    for reference, user_id, order_id, key, (original, duplicate) in [
        (FIRST, 7, "A1", "k1", ("tx1", "tx2")),
        (SECOND, 8, "B1", "k2", ("tx3", "tx4")),
    ]:
        async with db.transaction() as session:
            filed = await add_ticket(session, ticket=ticket(reference, user_id, order_id, key),
                                     matches=[(original, "original"), (duplicate, "duplicate")],
                                     actor=f"payer:{user_id}", now=NOW)
            ids[reference] = filed.id
        await approve_and_send(db, policy, lambda: NOW, reference=reference, actor="support:1")
    runner = await serve_http(refund_status_app(db, policy, SECRET, clock=lambda: LATER), "127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield Desk(db, merchant, http, f"http://127.0.0.1:{runner.addresses[0][1]}", ids)
    await runner.cleanup()
    await provider.close()


async def test_approval_refunds_the_duplicate_charge_once_at_the_merchant(desk):
    first = await desk.snapshot(FIRST)

    assert first["refund"]["transaction_id"] == "tx2"
    assert first["refund"]["provider"] == "webhook" and first["refund"]["status"] == "pending"
    assert first["ticket"]["status"] == TicketStatus.REFUND_PENDING
    assert (await desk.snapshot(SECOND))["refund"]["transaction_id"] == "tx4"
    sent = [json.loads(body) for _, body in desk.merchant.requests]
    assert [(s["reference"], s["transaction_id"]) for s in sent] == [(FIRST, "tx2"), (SECOND, "tx4")]
    assert desk.merchant.refunds_per_key == {FIRST: 1, SECOND: 1}
    assert first["outbox"] == [f"ticket:{desk.ticket_ids[FIRST]}:refund_started"]


async def test_a_signed_success_lands_the_refund_once(desk):
    ticket_id = desk.ticket_ids[FIRST]
    success = {"status": "succeeded", "bank_reference": "BR-2026-0001"}

    assert await desk.post(FIRST, success) == (200, {"ok": True, "status": "refunded"})
    landed = await desk.snapshot(FIRST)
    assert landed["ticket"]["status"] == "refunded" and landed["ticket"]["open_order_key"] is None
    assert landed["refund"]["status"] == "succeeded"
    assert landed["refund"]["bank_reference"] == "BR-2026-0001"
    assert landed["refund"]["landed_at"] == LATER
    assert landed["outbox"] == [f"ticket:{ticket_id}:refund_started", f"ticket:{ticket_id}:landed"]
    assert landed["audit"][-1] == ("refund_pending", "refunded", "merchant:webhook")

    assert await desk.post(FIRST, success) == (200, {"ok": True, "status": "refunded"})
    assert await desk.snapshot(FIRST) == landed
    assert (await desk.snapshot(SECOND))["ticket"]["status"] == "refund_pending"


async def test_notifications_racing_each_other_land_once(desk):
    success = {"status": "succeeded", "bank_reference": "BR-2026-0002"}

    answers = await asyncio.gather(*(desk.post(FIRST, success) for _ in range(4)))

    assert answers == [(200, {"ok": True, "status": "refunded"})] * 4
    landed = await desk.snapshot(FIRST)
    landings = [move for move in landed["audit"] if move[1] == "refunded"]
    assert landings == [("refund_pending", "refunded", "merchant:webhook")]
    assert landed["outbox"].count(f"ticket:{desk.ticket_ids[FIRST]}:landed") == 1


async def test_a_failure_hands_the_ticket_to_support(desk):
    ticket_id = desk.ticket_ids[SECOND]
    untouched = await desk.snapshot(FIRST)
    failure = {"status": "failed", "failure_reason": "beneficiary account closed"}

    assert await desk.post(SECOND, failure) == (200, {"ok": True, "status": "refund_failed"})
    failed = await desk.snapshot(SECOND)
    assert failed["ticket"]["status"] == "refund_failed"
    assert failed["refund"]["status"] == "failed"
    assert failed["refund"]["failure_reason"] == "beneficiary account closed"
    card_key = f"card:{ticket_id}:refund_failed:{LATER.isoformat()}"
    assert failed["outbox"] == [f"ticket:{ticket_id}:refund_started", f"ticket:{ticket_id}:refund_failed",
                                card_key, f"support:{ticket_id}:refund_failed"]
    async with desk.db.transaction() as session:
        card, notice = await messages_to(session, chat_id=SUPPORT_CHAT)
    assert (card.action, card.ticket_id) == ("card", ticket_id)
    assert SECOND in notice.text and "beneficiary account closed" in notice.text

    assert await desk.post(SECOND, failure) == (200, {"ok": True, "status": "refund_failed"})
    assert await desk.snapshot(SECOND) == failed
    assert await desk.snapshot(FIRST) == untouched


async def test_pending_changes_nothing(desk):
    before = await desk.snapshot(FIRST)

    assert await desk.post(FIRST, {"status": "pending"}) == (200, {"ok": True, "status": "refund_pending"})
    assert await desk.snapshot(FIRST) == before


SUCCESS = {"status": "succeeded", "bank_reference": "BR-FORGED"}
STAMP = int(LATER.timestamp())


@pytest.mark.parametrize(
    ("reference", "body", "options", "answer"),
    [
        (FIRST, SUCCESS, {"signed": False}, (401, "missing signature headers")),
        (FIRST, SUCCESS, {"secret": "whsec_guess"}, (401, "wrong signature")),
        (FIRST, SUCCESS, {"timestamp": STAMP - 6 * 60}, (401, "timestamp too old (replayed?)")),
        (FIRST, SUCCESS, {"timestamp": STAMP + 6 * 60}, (401, "timestamp in the future")),
        (UNKNOWN, SUCCESS, {}, (404, "unknown refund reference")),
        (FIRST, {**SUCCESS, "reference": SECOND}, {}, (401, "the signed body names another reference")),
        (FIRST, b'{"status": "succeeded"', {}, (400, "bad body")),
        (FIRST, {"status": "refunded"}, {}, (400, "bad body: unknown refund status")),
        (FIRST, {"status": "succeeded", "bank_reference": ["BR"]}, {}, (400, "bad body: bank_reference")),
    ],
    ids=["unsigned", "wrong-signature", "stale", "future", "unknown-reference", "replayed-elsewhere",
         "invalid-json", "bad-status", "bad-field"],
)
async def test_refused_requests_change_nothing(desk, reference, body, options, answer):
    before = {ref: await desk.snapshot(ref) for ref in (FIRST, SECOND)}

    status, payload = await desk.post(reference, body, **options)

    assert status == answer[0]
    assert payload["ok"] is False and payload["error"].startswith(answer[1])
    assert {ref: await desk.snapshot(ref) for ref in (FIRST, SECOND)} == before


async def test_health_check(desk):
    async with desk.http.get(f"{desk.url}/healthz") as response:
        assert (response.status, await response.json()) == (
            200, {"ok": True, "database": "reachable", "scheduler": "off"})


async def test_a_deeply_nested_body_is_a_bad_request(desk):
    before = await desk.snapshot(FIRST)

    status, payload = await desk.post(FIRST, b"[" * 30_000 + b"]" * 30_000)

    assert (status, payload["ok"]) == (400, False) and payload["error"].startswith("bad body")
    assert await desk.snapshot(FIRST) == before


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"status": "succeeded", "bank_reference": "BR-1"}, {"status": "failed", "failure_reason": "x"}),
        ({"status": "succeeded", "bank_reference": "BR-1"}, {"status": "pending"}),
        ({"status": "failed", "failure_reason": "card closed"}, {"status": "pending"}),
    ],
    ids=["failed-after-succeeded", "pending-after-succeeded", "pending-after-failed"],
)
async def test_a_transition_that_is_ignored_answers_409(desk, first, then):
    assert (await desk.post(FIRST, first))[0] == 200
    before = await desk.snapshot(FIRST)

    status, payload = await desk.post(FIRST, then)

    assert (status, payload["ok"]) == (409, False) and "ignored" in payload["error"]
    assert await desk.snapshot(FIRST) == before


async def test_a_push_that_arrives_before_the_answer_is_recorded_is_accepted(db, merchant):
    """The merchant's answer is slow; its status push overtakes it. Neither is lost, nothing is doubled."""
    provider = WebhookProvider(merchant.url, SECRET, timeout=5)
    policy = _policy(provider)
    await _file(db, FIRST, 7, "A1", "k1", ("tx1", "tx2"))
    runner = await serve_http(refund_status_app(db, policy, SECRET, clock=lambda: LATER), "127.0.0.1", 0)
    merchant.fault = "hang"
    try:
        approval = asyncio.create_task(
            approve_and_send(db, policy, lambda: NOW, reference=FIRST, actor="support:1")
        )
        await asyncio.wait_for(merchant.arrived.wait(), 5)
        async with aiohttp.ClientSession() as http:
            desk = Desk(db, merchant, http, f"http://127.0.0.1:{runner.addresses[0][1]}", {})
            pushed = await desk.post(FIRST, {"status": "succeeded", "bank_reference": "BR-EARLY"})
            merchant.release.set()
            ticket, sent = await approval
            landed = await desk.snapshot(FIRST)
    finally:
        await runner.cleanup()
        await provider.close()

    assert pushed == (200, {"ok": True, "status": "refunded"})
    assert (ticket.status, sent.refund.status) == ("refunded", "succeeded")
    assert landed["refund"]["bank_reference"] == "BR-EARLY"
    assert [h["Idempotency-Key"] for h, _ in merchant.requests] == [FIRST]


async def test_a_timeout_leaves_the_refund_requested_and_the_sweep_retries_with_the_same_key(db, merchant):
    provider = WebhookProvider(merchant.url, SECRET, timeout=0.2)
    policy = _policy(provider)
    await _file(db, FIRST, 7, "A1", "k1", ("tx1", "tx2"))
    merchant.fault = "hang"
    try:
        ticket, sent = await approve_and_send(db, policy, lambda: NOW, reference=FIRST, actor="support:1")
        assert (ticket.status, sent.refund.status, sent.answer.value) == ("approved", "requested", "unknown")
        merchant.fault = None
        sweep = FollowUps(db, policy, lambda: NOW + timedelta(minutes=1))
        assert await sweep.sweep() >= 1
    finally:
        await provider.close()

    async with db.transaction() as session:
        ticket = await ticket_by_reference(session, reference=FIRST)
        refund = await refund_by_reference(session, reference=FIRST)
    assert (ticket.status, refund.status) == ("refund_pending", "pending")
    assert [h["Idempotency-Key"] for h, _ in merchant.requests] == [FIRST, FIRST]
    assert merchant.refunds_per_key == {FIRST: 1}


def _policy(provider: WebhookProvider) -> RefundPolicy:
    return RefundPolicy(
        provider=provider,
        schedule=UpdateSchedule(parse_intervals("1d,2d,4d,7d"), None, ZoneInfo("UTC"), timedelta(days=2)),
        eta=Eta.parse("10bd"),
        notifier=Notifier(Texts.load(), support_chat_id=SUPPORT_CHAT, support_locale="en"),
    )


async def _file(db, reference, user_id, order_id, key, charges) -> None:
    original, duplicate = charges
    async with db.transaction() as session:
        await add_ticket(session, ticket=ticket(reference, user_id, order_id, key),
                         matches=[(original, "original"), (duplicate, "duplicate")],
                         actor=f"payer:{user_id}", now=NOW)
