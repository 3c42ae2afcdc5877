"""The sandbox's webhook: setWebhook, getWebhookInfo, deleteWebhook, and delivery by POST with retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from telegram_sandbox import SandboxClient, TelegramSandbox
from tests.sandbox.helpers import BOT_USERNAME, TOKEN, USER_ID

SECRET = "s3cret_token-1"
RETRY = 0.05


class Receiver:
    """A webhook endpoint on a free port that answers with the statuses it is given, then 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.statuses: list[int] = []
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        self.received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.arrived.set()
        return web.Response(status=status)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    running = TelegramSandbox(token=TOKEN, bot_username=BOT_USERNAME, webhook_retry=RETRY)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


async def bot_call(sandbox: TelegramSandbox, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(f"{sandbox.url}/bot{TOKEN}/{method}",
                                                         json=params) as response:
        return response.status, await response.json()


async def set_webhook(sandbox: TelegramSandbox, url: str, **params: Any) -> None:
    status, body = await bot_call(sandbox, "setWebhook", url=url, secret_token=SECRET, **params)
    assert (status, body["result"]) == (200, True)


async def test_updates_are_posted_in_order_with_the_secret(sandbox, client: SandboxClient, user, receiver):
    await set_webhook(sandbox, receiver.url, allowed_updates=["message"], max_connections=1)
    for text in ("one", "two", "three"):
        await client.send_text(USER_ID, text)

    await receiver.wait_for(3)

    assert [update["message"]["text"] for update, _ in receiver.received] == ["one", "two", "three"]
    assert {secret for _, secret in receiver.received} == {SECRET}
    _, info = await bot_call(sandbox, "getWebhookInfo")
    assert info["result"] == {"url": receiver.url, "has_custom_certificate": False, "pending_update_count": 0,
                              "max_connections": 1, "allowed_updates": ["message"]}


async def test_get_updates_conflicts_while_a_webhook_is_set(sandbox, receiver):
    await set_webhook(sandbox, receiver.url)

    status, body = await bot_call(sandbox, "getUpdates", timeout=0)
    assert status == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method while webhook is active")

    assert (await bot_call(sandbox, "deleteWebhook"))[1]["result"] is True
    status, body = await bot_call(sandbox, "getUpdates", timeout=0)
    assert (status, body["result"]) == (200, [])


async def test_a_refused_post_is_retried_and_reported(sandbox, client, user, receiver):
    receiver.statuses = [500, 503]
    await set_webhook(sandbox, receiver.url)
    await client.send_text(USER_ID, "hello")

    await receiver.wait_for(3)

    assert [update["message"]["text"] for update, _ in receiver.received] == ["hello"] * 3
    _, info = await bot_call(sandbox, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 0
    assert info["result"]["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"


async def test_an_unreachable_webhook_keeps_the_update_pending(sandbox, client, user, receiver):
    await receiver.stop()  # nothing listens there any more
    await set_webhook(sandbox, receiver.url)
    await client.send_text(USER_ID, "hello")
    await asyncio.sleep(RETRY * 4)

    _, info = await bot_call(sandbox, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 1
    assert info["result"]["last_error_message"].startswith("Connection failed")
    assert sandbox.state.webhook.posts >= 2  # retried


async def test_a_redelivery_is_posted_twice_with_one_update_id(sandbox, client, user, receiver):
    await set_webhook(sandbox, receiver.url)
    await client.send_text(USER_ID, "hello", deliver_twice=True)

    await receiver.wait_for(2)

    ids = [update["update_id"] for update, _ in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1]


async def test_max_connections_bounds_the_posts_in_flight(sandbox, client, user):
    in_flight, most = 0, 0
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await set_webhook(sandbox, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", max_connections=3)
        for number in range(8):
            await client.send_text(USER_ID, f"m{number}")
        await asyncio.sleep(0.3)
        assert most == 3
        release.set()
        queue = sandbox.state.updates
        assert await queue.pulse.wait_for(lambda: not queue.pending, 5)
    finally:
        release.set()
        await runner.cleanup()
    assert most == 3


async def test_a_bad_secret_token_is_refused(sandbox, receiver):
    status, body = await bot_call(sandbox, "setWebhook", url=receiver.url, secret_token="not allowed!")

    assert status == 400 and body["description"] == "Bad Request: secret token contains unallowed characters"
    assert (await bot_call(sandbox, "getWebhookInfo"))[1]["result"]["url"] == ""
