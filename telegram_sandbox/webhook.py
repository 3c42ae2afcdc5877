"""Webhook delivery as Telegram does it: each queued update POSTed to the registered URL with the secret
header, one update per request, in order, retried with a backoff until a 2xx, max_connections at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from telegram_sandbox.updates import UpdateQueue

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40
POST_TIMEOUT = 10.0
LONGEST_BACKOFF_FACTOR = 32  # the retry delay doubles per failure up to this many times the first


@dataclass
class WebhookConfig:
    """What setWebhook registered."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass
class WebhookDelivery:
    """Posts the update queue to the webhook while one is set."""

    queue: UpdateQueue
    retry_delay: float = 1.0
    config: WebhookConfig | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    posts: int = 0  # requests made, successful or not
    _in_flight: list[dict[str, Any]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def set(self, config: WebhookConfig) -> None:
        """Register (or replace) the webhook and start posting."""
        self.config = config
        self.last_error_date = self.last_error_message = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._deliver())
        self.queue.pulse.fire()

    def delete(self) -> None:
        """Stop posting; updates wait for getUpdates again."""
        self.config = None
        self.queue.pulse.fire()

    def info(self) -> dict[str, Any]:
        """getWebhookInfo's result."""
        config = self.config
        result: dict[str, Any] = {
            "url": config.url if config else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if config is not None:
            result["max_connections"] = config.max_connections
            if config.allowed_updates is not None:
                result["allowed_updates"] = list(config.allowed_updates)
        if self.last_error_date is not None:
            result["last_error_date"] = self.last_error_date
            result["last_error_message"] = self.last_error_message
        return result

    async def stop(self) -> None:
        """Stop the poster (the server is stopping)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _next(self) -> dict[str, Any] | None:
        """The oldest update not being posted, if a connection is free."""
        config = self.config
        if config is None or self.queue.closing or len(self._in_flight) >= config.max_connections:
            return None
        return next((u for u in self.queue.pending if not any(u is f for f in self._in_flight)), None)

    async def _deliver(self) -> None:
        posting: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT)) as http:
            try:
                while not self.queue.closing:
                    update = await self.queue.pulse.wait_for(lambda: self.queue.closing or self._next(), 1.0)
                    if not isinstance(update, dict):
                        continue
                    self._in_flight.append(update)
                    task = asyncio.create_task(self._post_until_taken(http, update))
                    posting.add(task)
                    task.add_done_callback(posting.discard)
            finally:
                for task in posting:
                    task.cancel()
                await asyncio.gather(*posting, return_exceptions=True)
                self._in_flight.clear()

    async def _post_until_taken(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        delay = self.retry_delay
        try:
            while (config := self.config) is not None:
                if await self._post(http, config, update):
                    self.queue.pending = [u for u in self.queue.pending if u is not update]
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_delay * LONGEST_BACKOFF_FACTOR)
        finally:
            self._in_flight = [u for u in self._in_flight if u is not update]
            self.queue.pulse.fire()

    async def _post(self, http: aiohttp.ClientSession, config: WebhookConfig, update: dict[str, Any]) -> bool:
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        self.posts += 1
        try:
            async with http.post(config.url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = f"Connection failed: {type(failure).__name__}"
        self.last_error_date, self.last_error_message = int(time.time()), error
        return False
