"""TelegramSandbox: a local Bot API server over real HTTP for tests, benchmarks and demos."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from telegram_sandbox.bot_calls import perform_call
from telegram_sandbox.faults import FILE_DOWNLOAD
from telegram_sandbox.inspect_api import InspectApi
from telegram_sandbox.params import read_params
from telegram_sandbox.people import BotIdentity
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.state import SandboxState
from telegram_sandbox.user_api import UserApi

MAX_REQUEST_BYTES = 64 * 1024 * 1024  # room for 50 MB document uploads plus form overhead
SHUTDOWN_TIMEOUT = 5.0


class TelegramSandbox:
    """Serves the Bot API at {url}/bot{token}/{method}, files at {url}/file/bot{token}/{path}
    and the user-side test API at {url}/sandbox/."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int | None = None,
        bot_username: str = "sandbox_bot",
        bot_first_name: str = "Sandbox Bot",
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.time,
        webhook_retry: float = 1.0,
    ):
        if bot_id is None:
            prefix = token.split(":", 1)[0]
            if not prefix.isdigit():
                raise ValueError("token must look like '<bot id>:<secret>', or pass bot_id")
            bot_id = int(prefix)
        self.token = token
        # webhook_retry: seconds before a failed webhook POST is retried (doubling per failure)
        self.state = SandboxState(BotIdentity(bot_id, bot_first_name, bot_username), clock, rate_limits,
                                  webhook_retry)
        self.app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        self.app.router.add_get("/bot{token}/{method}", self._bot_call)
        self.app.router.add_post("/bot{token}/{method}", self._bot_call)
        self.app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        UserApi(self.state).add_routes(self.app.router)
        InspectApi(self.state).add_routes(self.app.router)
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; return the base url, e.g. "http://127.0.0.1:PORT"."""
        self.state.closing = self.state.updates.closing = False
        self._runner = web.AppRunner(self.app, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """End long polls and waits, then stop serving."""
        self.state.close()
        await self.state.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _bot_call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _unauthorized()
        status, body = await perform_call(self.state, request.match_info["method"], read_params(request))
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _unauthorized()
        fault = self.state.faults.take(FILE_DOWNLOAD, False, None)
        if fault is not None:
            self.state.stats["faults"] += 1
            return web.json_response(fault.as_json(), status=fault.error_code)
        stored = self.state.files.by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")


def _unauthorized() -> web.Response:
    return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
