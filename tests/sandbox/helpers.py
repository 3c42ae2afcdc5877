"""Constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

import asyncio
import io

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from PIL import Image

TOKEN = "123456:sandbox-test-token"
BOT_USERNAME = "refund_assistant_bot"
BOT_ID = 123456
USER_ID = 7001
OTHER_USER_ID = 7002
GROUP_ID = -1001234


class FakeClock:
    """A clock tests move by hand, for flood limits and answer windows."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def png_bytes(width: int = 120, height: int = 80) -> bytes:
    """Return a real PNG image of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class SandboxSession(AiohttpSession):
    """aiogram's HTTP session, without the 250 ms its close waits for TLS (the sandbox has none)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            await asyncio.sleep(0)  # the closed sockets reach the sandbox before it stops


def sandbox_session(url: str) -> SandboxSession:
    """A session for an aiogram Bot that talks to the sandbox at url."""
    return SandboxSession(api=TelegramAPIServer.from_base(url))


def aiogram_bot(url: str, token: str = TOKEN) -> Bot:
    """Return an aiogram Bot that talks to the sandbox at url."""
    return Bot(token, session=sandbox_session(url))
