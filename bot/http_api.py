"""The HTTP side of the bot: merchants push refund status changes and payment events here, signed."""

import json
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.payment_feed_api import payment_feed_handler
from bot.providers.webhook import refund_state_from_json
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from bot.wiring import Services
from handlers.monitor.arrivals import ChargeWatch
from handlers.refunds.refunding import Applied, RefundPolicy, lock_ticket_and_refund, record_provider_state
from storage.database import Database

log = logging.getLogger(__name__)
MERCHANT = "merchant:webhook"
MAX_BODY_BYTES = 64 * 1024
UTC_ZONE = ZoneInfo("UTC")


def _refused(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


def refund_status_app(
    db: Database, policy: RefundPolicy, secret: str, clock: Callable[[], datetime], *,
    watch: ChargeWatch | None = None, zone: ZoneInfo = UTC_ZONE,
) -> web.Application:
    """Signed `POST /api/refunds/{reference}/status` and `POST /api/payments` (to `watch`), `GET /healthz`."""

    async def receive_status(request: web.Request) -> web.Response:
        """Apply a merchant's refund notification; a repeated one changes nothing."""
        reference = request.match_info["reference"]
        body = await request.read()
        now = clock()
        try:
            verify(
                secret,
                timestamp_header=request.headers.get(TIMESTAMP_HEADER),
                signature_header=request.headers.get(SIGNATURE_HEADER),
                body=body,
                now=now,
            )
        except SignatureError as refusal:
            log.warning("refund notification for %r refused: %s", reference, refusal.reason)
            return _refused(401, refusal.reason)
        try:
            payload = json.loads(body)
            state = refund_state_from_json(payload)
        except (ValueError, RecursionError) as exc:  # deep nesting overflows the parser's recursion
            detail = str(exc)[:200] if isinstance(exc, ValueError) else "nested too deeply"
            return _refused(400, f"bad body: {detail}")
        if payload.get("reference") != reference:
            # The signature covers the body only, so the body must name the refund it is about.
            return _refused(401, "the signed body names another reference")
        async with db.transaction() as session:
            locked = await lock_ticket_and_refund(session, reference=reference)
            if locked is None:
                return _refused(404, "unknown refund reference")
            ticket, refund = locked
            applied = await record_provider_state(
                session, policy, ticket, refund, state, actor=MERCHANT, now=now
            )
            if applied is Applied.CONFLICT:
                log.warning("refund %s: ignored %s, it is %s", reference, state.status, refund.status)
                return web.json_response(
                    {"ok": False, "error": f"refund is {refund.status}; {state.status.value} ignored",
                     "status": ticket.status},
                    status=409,
                )
            return web.json_response({"ok": True, "status": ticket.status})

    async def health(_request: web.Request) -> web.Response:
        """Liveness for the load balancer."""
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/api/refunds/{reference}/status", receive_status)
    app.router.add_post("/api/payments", payment_feed_handler(db, secret, clock, watch=watch, zone=zone))
    app.router.add_get("/healthz", health)
    return app


async def serve_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller cleans up the returned runner (port 0 picks a free port)."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def serve_merchant_endpoints(services: Services) -> web.AppRunner:
    """Serve the signed merchant endpoints on HTTP_HOST:HTTP_PORT (MERCHANT_WEBHOOK_SECRET must be set)."""
    settings = services.settings
    secret = settings.merchant_webhook_secret.get_secret_value()
    if not secret:
        raise ValueError("MERCHANT_WEBHOOK_SECRET is not set: the merchant endpoints would accept no request")
    app = refund_status_app(services.db, services.refund_policy(), secret, services.clock,
                            watch=services.charge_watch(), zone=settings.zone)
    runner = await serve_http(app, settings.http_host, settings.http_port)
    host, port = runner.addresses[0][:2]
    log.info("merchant endpoints on http://%s:%s: /api/refunds/{reference}/status and /api/payments",
             host, port)
    return runner
