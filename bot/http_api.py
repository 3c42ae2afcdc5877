"""The HTTP side of the bot: merchants push refund status changes and payment events here, signed; Telegram
posts updates here in webhook mode; a load balancer asks /healthz and /readyz."""

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import text

from bot.payment_feed_api import payment_feed_handler
from bot.providers.webhook import refund_state_from_json
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from bot.webhook import WebhookIntake
from bot.wiring import Services
from handlers.monitor.arrivals import ChargeWatch
from handlers.refunds.refunding import Applied, RefundPolicy, lock_ticket_and_refund, record_provider_state
from storage.database import Database

log = logging.getLogger(__name__)
MERCHANT = "merchant:webhook"
MAX_BODY_BYTES = 64 * 1024
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024  # an update with a long message and the one it replies to fits
HEALTH_TIMEOUT = 2.0
UTC_ZONE = ZoneInfo("UTC")


def _refused(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


def refund_status_app(
    db: Database, policy: RefundPolicy, secret: str, clock: Callable[[], datetime], *,
    watch: ChargeWatch | None = None, zone: ZoneInfo = UTC_ZONE,
) -> web.Application:
    """Signed `POST /api/refunds/{reference}/status` and `POST /api/payments` (to `watch`), `GET /healthz`."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    add_merchant_routes(app, db, policy, secret, clock, watch=watch, zone=zone)
    add_health_routes(app, db)
    return app


def add_merchant_routes(
    app: web.Application, db: Database, policy: RefundPolicy, secret: str, clock: Callable[[], datetime], *,
    watch: ChargeWatch | None = None, zone: ZoneInfo = UTC_ZONE,
) -> None:
    """The signed merchant endpoints: refund status changes and payment events."""

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

    app.router.add_post("/api/refunds/{reference}/status", receive_status)
    app.router.add_post("/api/payments", payment_feed_handler(db, secret, clock, watch=watch, zone=zone))


async def database_reachable(db: Database) -> bool:
    """Whether a trivial query answers within HEALTH_TIMEOUT seconds."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), db.transaction() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:  # whatever the driver raises, the answer is "not reachable"
        log.warning("health check: the database is not reachable", exc_info=True)
        return False
    return True


def add_health_routes(
    app: web.Application, db: Database, *, scheduler_alive: Callable[[], bool | None] = lambda: None,
    readiness: Callable[[], str] = lambda: "ready",
) -> None:
    """`GET /healthz` (database reachable, scheduler alive; None: no scheduler here) and `GET /readyz`
    (200 only when "ready": not while starting or draining), both JSON for a load balancer."""

    async def health(_request: web.Request) -> web.Response:
        database = await database_reachable(db)
        alive = scheduler_alive()
        healthy = database and alive is not False
        body = {"ok": healthy, "database": "reachable" if database else "unreachable",
                "scheduler": {None: "off", True: "running", False: "stopped"}[alive]}
        return web.json_response(body, status=200 if healthy else 503)

    async def ready(_request: web.Request) -> web.Response:
        state = readiness()
        ready = state == "ready"
        return web.json_response({"ok": ready, "state": state}, status=200 if ready else 503)

    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)


async def serve_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller cleans up the returned runner (port 0 picks a free port)."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def serve_merchant_endpoints(services: Services) -> web.AppRunner:
    """Serve the signed merchant endpoints on HTTP_HOST:HTTP_PORT (MERCHANT_WEBHOOK_SECRET must be set)."""
    if not services.settings.merchant_webhook_secret.get_secret_value():
        raise ValueError("MERCHANT_WEBHOOK_SECRET is not set: the merchant endpoints would accept no request")
    return await serve_bot_http(services)


async def serve_bot_http(
    services: Services, *, intake: WebhookIntake | None = None,
    scheduler_alive: Callable[[], bool | None] = lambda: None,
) -> web.AppRunner:
    """Serve on HTTP_HOST:HTTP_PORT: Telegram's webhook at WEBHOOK_URL's path (with `intake`), the merchant
    endpoints (when MERCHANT_WEBHOOK_SECRET is set), `/healthz` and `/readyz`."""
    settings = services.settings
    app = web.Application(client_max_size=WEBHOOK_MAX_BODY_BYTES if intake else MAX_BODY_BYTES)
    secret = settings.merchant_webhook_secret.get_secret_value()
    if secret:
        add_merchant_routes(app, services.db, services.refund_policy(), secret, services.clock,
                            watch=services.charge_watch(), zone=settings.zone)
    readiness: Callable[[], str] = lambda: "ready"  # noqa: E731  (polling: serving is being ready)
    if intake is not None:
        app.router.add_post(settings.webhook_path, intake.receive)
        readiness = lambda: intake.readiness.value  # noqa: E731
    add_health_routes(app, services.db, scheduler_alive=scheduler_alive, readiness=readiness)
    runner = await serve_http(app, settings.http_host, settings.http_port)
    host, port = runner.addresses[0][:2]
    served = ([settings.webhook_path] if intake else []) + (
        ["/api/refunds/{reference}/status", "/api/payments"] if secret else [])
    log.info("serving http://%s:%s: %s, /healthz, /readyz", host, port, ", ".join(served))
    return runner
