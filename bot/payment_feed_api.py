"""`POST /api/payments`: the merchant's payment platform pushes charge events here, signed."""

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from handlers.monitor.arrivals import ChargeWatch
from handlers.payment_events import MAX_EVENTS, EventsRefused, Outcome, describe, read_events
from handlers.payment_feed import FeedReceipt, receive_payment_events
from storage.database import Database

log = logging.getLogger(__name__)
# A full batch of MAX_EVENTS events with 64-character ids, pretty-printed, fits with room to spare.
FEED_MAX_BODY_BYTES = 512 * 1024
PROBLEMS_SHOWN = 50


def _refused(status: int, error: str, **extra: object) -> web.Response:
    log.warning("payment feed refused (%d): %s", status, error)
    return web.json_response({"ok": False, "error": error, **extra}, status=status)


def payment_feed_handler(
    db: Database, secret: str, clock: Callable[[], datetime], *, watch: ChargeWatch | None, zone: ZoneInfo
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The request handler of the feed: signature, body, events, then one transaction."""

    async def receive_payments(request: web.Request) -> web.Response:
        """Store one signed event or a batch, all or none; a repeated event changes nothing."""
        try:
            # The app's 64 KB cap is for the small status pushes; a batch of events may be larger.
            body = await request.clone(client_max_size=FEED_MAX_BODY_BYTES).read()
        except web.HTTPRequestEntityTooLarge:
            return _refused(413, f"body larger than {FEED_MAX_BODY_BYTES} bytes; send smaller batches")
        try:
            verify(secret, timestamp_header=request.headers.get(TIMESTAMP_HEADER),
                   signature_header=request.headers.get(SIGNATURE_HEADER), body=body, now=clock())
        except SignatureError as refusal:
            return _refused(401, refusal.reason)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return _refused(400, f"bad body: {str(exc)[:200]}")
        except RecursionError:  # deep nesting overflows the parser's recursion
            return _refused(400, "bad body: nested too deeply")
        try:
            events = read_events(payload, zone, max_events=MAX_EVENTS, now=clock())
        except EventsRefused as refusal:
            shown = refusal.problems[:PROBLEMS_SHOWN]
            return _refused(
                400, f"bad events, nothing stored: {refusal}",
                problems=[{"index": index, "error": describe(index, reason)} for index, reason in shown],
                problem_count=len(refusal.problems),
            )
        receipt = await receive_payment_events(db, events, watch=watch, clock=clock)
        return web.json_response(receipt_json(receipt))

    return receive_payments


def receipt_json(receipt: FeedReceipt) -> dict[str, object]:
    """The answer: counts, then each event's outcome in order."""
    return {
        "ok": True,
        "stored": receipt.count(Outcome.STORED),
        "duplicates": receipt.count(Outcome.DUPLICATE),
        "ignored": receipt.count(Outcome.IGNORED),
        "events": [
            {
                "index": result.event.index,
                "transaction_id": result.event.transaction_id,
                "outcome": result.outcome.value,
                "duplicate": result.outcome is Outcome.DUPLICATE,
                "status": result.status.value,
                **({"reason": result.reason} if result.reason else {}),
            }
            for result in receipt.results
        ],
    }
