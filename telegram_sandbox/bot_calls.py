"""Running one Bot API call: faults, flood limits, the handler, the call log and counters."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from telegram_sandbox.errors import ApiError, too_many_requests
from telegram_sandbox.methods import BotMethod, find_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState

log = logging.getLogger(__name__)


async def perform_call(state: SandboxState, name: str, read_params: Awaitable[Params]) -> tuple[int, dict]:
    """Read the parameters, run the method `name` and return (HTTP status, response body)."""
    started = state.clock()
    method = find_method(name)
    params = Params({})
    try:
        params = await read_params
        if method is None:
            raise ApiError(404, "Not Found")
        result = await _run(state, method, params)
        status, body = 200, {"ok": True, "result": result}
    except ApiError as error:
        status, body = error.error_code, error.as_json()
    except web.HTTPRequestEntityTooLarge:
        status, body = 413, ApiError(413, "Request Entity Too Large").as_json()
    except Exception:
        log.exception("sandbox failed to handle %s", name)
        status, body = 500, ApiError(500, "Internal Server Error").as_json()
    state.record_call(
        {
            "method": method.name if method else name,
            "params": params.loggable(),
            "status": status,
            "time": started,
            "description": body.get("description"),
        }
    )
    return status, body


async def _run(state: SandboxState, method: BotMethod, params: Params) -> Any:
    chat_id = _chat_id(state, params)
    fault = state.faults.take(method.name, method.sends, chat_id)
    if fault is not None:
        state.stats["faults"] += 1
        raise fault
    # allow_paid_broadcast: up to 1000 messages/s instead of ~30 (for a fee in Stars); per-chat limits stay
    paid = method.sends and params.flag("allow_paid_broadcast")
    if method.sends:
        retry_after = state.limiter.retry_after(chat_id, paid)
        if retry_after is not None:
            state.stats["rate_limited"] += 1
            raise too_many_requests(retry_after)
    # Send handlers are synchronous, so the limiter check and record below cannot interleave.
    result = method.handler(state, params)
    if inspect.isawaitable(result):
        result = await result
    if method.sends:
        state.limiter.record(chat_id, paid)
        state.stats["sent"] += 1
    return result


def _chat_id(state: SandboxState, params: Params) -> int | None:
    raw = params.values.get("chat_id")
    chat = state.find_chat(raw) if raw is not None else None
    if chat is not None:
        return chat.id
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
