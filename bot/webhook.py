"""Telegram's webhook: each update recorded in the database, answered 200, then handed to the runtime.

A runtime only supplies `feed` (the update's JSON into its framework); this module owns the rest: the
secret-token check, the record-first order, the replay after a crash, readiness and draining.
"""

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.in_flight import InFlight
from storage.database import Database
from storage.inbound_updates import forget_handled_before, mark_handled, record_update, unhandled_updates

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
REPLAY_BATCH = 100
# Handled updates are kept this long (Telegram redelivers for up to 24 h; the claims in processed_updates
# stop a redelivery after that), pruned at start-up and every PRUNE_EVERY handled updates.
HANDLED_KEPT = timedelta(hours=48)
PRUNE_EVERY = 1000
Feed = Callable[[dict[str, Any]], Awaitable[object]]


class Readiness(StrEnum):
    """Whether a load balancer should send this instance updates."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


class WebhookIntake:
    """The webhook route, and the updates it has taken and not yet finished."""

    def __init__(self, db: Database, secret: str, clock: Callable[[], datetime]):
        self.db, self._secret, self.clock = db, secret.encode("utf-8"), clock
        self.readiness = Readiness.STARTING
        self._feed: Feed | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._receiving = InFlight()  # requests between the readiness check and the spawn of their handling
        self._handled = 0

    def open(self, feed: Feed) -> None:
        """Start taking updates, handing each to `feed`."""
        self._feed = feed

    async def receive(self, request: web.Request) -> web.Response:
        """`POST` of one update: 401 without the secret, 503 unless open, 200 once it is recorded."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, self._secret):
            return web.json_response({"ok": False, "error": "wrong secret token"}, status=401)
        feed = self._feed
        if feed is None or self.readiness is Readiness.DRAINING:
            return web.json_response({"ok": False, "error": "not taking updates"}, status=503)
        async with self._receiving:
            try:
                update = json.loads(await request.read())
                if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                    raise ValueError("not an update")
            except (ValueError, RecursionError):
                return web.json_response({"ok": False, "error": "bad update"}, status=400)
            async with self.db.transaction() as session:
                fresh = await record_update(session, update=update, now=self.clock())
            if fresh:  # a redelivery of a recorded update is someone else's (or the replay's) to handle
                self._spawn(feed, update)
        return web.json_response({"ok": True})

    def _spawn(self, feed: Feed, update: dict[str, Any]) -> None:
        task = asyncio.create_task(self._handle(feed, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, feed: Feed, update: dict[str, Any]) -> None:
        update_id = update["update_id"]
        try:
            await feed(update)
        except Exception:  # the runtime logs its own failures; this one escaped it
            log.exception("update %s failed", update_id)
        now = self.clock()
        async with self.db.transaction() as session:
            await mark_handled(session, update_id=update_id, now=now)
            self._handled += 1
            if self._handled % PRUNE_EVERY == 0:
                await forget_handled_before(session, before=now - HANDLED_KEPT)

    async def replay(self, started: datetime) -> int:
        """Hand the runtime every update recorded before `started` and never handled (a crash's); how many."""
        feed = self._feed
        if feed is None:
            raise RuntimeError("open the intake before replaying")
        async with self.db.transaction() as session:
            await forget_handled_before(session, before=started - HANDLED_KEPT)
        replayed = 0
        while True:
            async with self.db.transaction() as session:
                batch = await unhandled_updates(session, received_before=started, limit=REPLAY_BATCH)
            if not batch:
                return replayed
            for update in batch:
                await self._handle(feed, update)
            replayed += len(batch)

    async def drain(self, timeout: float | None = None) -> bool:
        """Answer 503 from now on and wait for the updates taken; False if some still ran at the timeout."""
        self.readiness = Readiness.DRAINING
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if not await self._receiving.drained(timeout):  # those already past the check are taken
            return False
        if not self._tasks:
            return True
        left = None if deadline is None else max(0.0, deadline - loop.time())
        _done, pending = await asyncio.wait(set(self._tasks), timeout=left)
        return not pending


async def register_webhook(set_webhook: Callable[..., Awaitable[object]], *, url: str, secret: str,
                           max_connections: int) -> None:
    """setWebhook through a runtime's own call (keyword names as the Bot API's); pending updates are kept."""
    await set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                      max_connections=max_connections, drop_pending_updates=False)


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call `stop` while inside."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop)
    try:
        yield
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)


def intake_for(settings: Settings, db: Database) -> WebhookIntake | None:
    """The webhook intake in BOT_MODE=webhook; None when polling."""
    if settings.bot_mode != "webhook":
        return None
    return WebhookIntake(db, settings.webhook_secret.get_secret_value(), now_utc)


def now_utc() -> datetime:
    """The wall clock: when an update arrived is a fact about this process, not the bot's business time."""
    return datetime.now(UTC)


async def serve_webhook(intake: WebhookIntake, feed: Feed, set_webhook: Callable[..., Awaitable[object]], *,
                        url: str, secret: str, max_connections: int, stopping: asyncio.Event) -> None:
    """With the runtime open: take updates, finish a crash's, register the webhook, be ready until `stopping`,
    then answer 503 and finish the updates in hand (the webhook stays: other instances still serve it)."""
    started = now_utc()
    intake.open(feed)
    try:
        replayed = await intake.replay(started)
        if replayed:
            log.info("handled %d update(s) recorded before a restart", replayed)
        await register_webhook(set_webhook, url=url, secret=secret, max_connections=max_connections)
        intake.readiness = Readiness.READY
        log.info("webhook mode: ready")
        await stopping.wait()
    finally:
        await intake.drain()
