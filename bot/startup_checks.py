"""Checks `refund-bot run` makes before anything starts: each problem is one line naming the setting."""

import asyncio
import re
import sys
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from yarl import URL

from bot.config import Settings
from storage.database import Database

# Telegram tokens are "<bot id>:<secret>" (the secret is 35 URL-safe characters; sandboxes use any length).
TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
ADMIN_STATUSES = frozenset({"creator", "administrator"})
TIMEOUT_SECONDS = 10.0
EXIT_CODE = 2


class StartUpProblem(Exception):
    """Why the bot cannot start, in one line naming the setting to fix."""


class Refused(Exception):
    """Telegram answered a call with ok=false."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


async def check_start_up(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> int:
    """0 when the bot can start; otherwise print the problem as one line on stderr and return 2."""
    try:
        await run_checks(settings, timeout=timeout)
    except StartUpProblem as problem:
        print(f"refund-bot: {problem}", file=sys.stderr)
        return EXIT_CODE
    return 0


async def run_checks(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """The token's shape, getMe, the support group, then the database; raise the first problem found."""
    token = settings.bot_token.get_secret_value()
    if not TOKEN_SHAPE.match(token):
        raise StartUpProblem(
            "BOT_TOKEN does not look like a bot token: expected <bot id>:<secret> as @BotFather gives it "
            "(digits, a colon, then letters, digits, _ or -)"
        )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        api = BotApi(http, settings.telegram_api_base, token, timeout)
        me = await _who_am_i(api)
        if settings.support_chat_id is not None:
            await _check_support_group(api, settings.support_chat_id, me["id"])
    await _check_database(settings.resolved_database_url, timeout)


class BotApi:
    """Just enough of the Bot API over aiohttp; errors never carry the token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str, timeout: float):
        self.http, self.base, self.token, self.timeout = http, base.rstrip("/"), token, timeout

    async def call(self, method: str, **params: Any) -> Any:
        """The call's result; Refused when Telegram says no, StartUpProblem when it cannot be asked."""
        try:
            async with self.http.post(f"{self.base}/bot{self.token}/{method}", json=params) as response:
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise StartUpProblem(
                f"TELEGRAM_API_BASE {self.shown_base} cannot be reached ({self._why(error)})"
            ) from None
        except ValueError:  # not JSON
            raise StartUpProblem(
                f"TELEGRAM_API_BASE {self.shown_base} does not answer like the Telegram Bot API "
                f"({method} gave HTTP {status} without JSON)"
            ) from None
        if not isinstance(body, dict) or "ok" not in body:
            raise StartUpProblem(
                f"TELEGRAM_API_BASE {self.shown_base} does not answer like the Telegram Bot API "
                f"({method} gave HTTP {status})"
            )
        if not body["ok"]:
            raise Refused(int(body.get("error_code") or status), _one_line(str(body.get("description", ""))))
        return body.get("result")

    @property
    def shown_base(self) -> str:
        """The base URL without any credentials in it."""
        return str(URL(self.base).with_user(None))

    def _why(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        if isinstance(error, aiohttp.ClientConnectorError) and error.os_error.strerror:
            return _one_line(error.os_error.strerror)
        if isinstance(error, OSError) and error.strerror:
            return _one_line(error.strerror)
        return type(error).__name__  # aiohttp's own texts may quote the URL, and so the token


async def _who_am_i(api: BotApi) -> dict[str, Any]:
    try:
        me = await api.call("getMe")
    except Refused as refusal:
        if refusal.status in (401, 404):  # Telegram: 401 for an unknown token, 404 for one it cannot parse
            raise StartUpProblem(f"BOT_TOKEN was refused by Telegram ({refusal.status})") from None
        raise StartUpProblem(
            f"TELEGRAM_API_BASE {api.shown_base} refused getMe ({refusal.status}: {refusal.description})"
        ) from None
    if not isinstance(me, dict) or not isinstance(me.get("id"), int):
        raise StartUpProblem(f"TELEGRAM_API_BASE {api.shown_base} answered getMe without the bot's id")
    return me


async def _check_support_group(api: BotApi, chat_id: int, bot_id: int) -> None:
    try:
        member = await api.call("getChatMember", chat_id=chat_id, user_id=bot_id)
    except Refused as refusal:
        raise StartUpProblem(
            f"SUPPORT_CHAT_ID {chat_id}: Telegram cannot show the bot this group ({refusal.description}); "
            "add the bot to the support group as an administrator"
        ) from None
    status = member.get("status") if isinstance(member, dict) else None
    if status not in ADMIN_STATUSES:
        raise StartUpProblem(
            f"SUPPORT_CHAT_ID {chat_id}: the bot is not an administrator of this group (it is {status}); "
            "make it one so it can post cards and open topics"
        )


async def _check_database(url: str, timeout: float) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartUpProblem(
            "DATABASE_URL is not a database URL like postgresql+asyncpg://user:password@host:5432/db"
        ) from None
    shown, password = parsed.render_as_string(hide_password=True), parsed.password or ""
    try:
        await _select_one(url, timeout)
    except TimeoutError:
        why = f"no answer within {timeout:g} s"
    except Exception as error:  # refused, unknown host, wrong password, missing driver: all one line
        why = _hidden(_db_why(error), password)
    else:
        return
    raise StartUpProblem(f"DATABASE_URL {shown} cannot be reached ({why})")


async def _select_one(url: str, timeout: float) -> None:
    database = Database.connect(url)
    try:
        async with asyncio.timeout(timeout), database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await database.dispose()


def _db_why(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, OSError) and cause.strerror:
        return _one_line(cause.strerror)
    return _one_line(str(cause)) or type(cause).__name__


def _hidden(line: str, password: str) -> str:
    return line.replace(password, "***") if password else line


def _one_line(message: str, limit: int = 200) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
