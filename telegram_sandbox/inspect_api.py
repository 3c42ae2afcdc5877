"""The observer side under /sandbox/: read chats, wait for the bot, logs, faults and resets."""

from __future__ import annotations

from aiohttp import web

from telegram_sandbox.faults import ANY_SEND, Fault
from telegram_sandbox.state import SandboxState
from telegram_sandbox.user_api import known_chat
from telegram_sandbox.user_requests import (
    fail,
    integer,
    json_reply,
    number,
    read_body,
    required_integer,
)

DEFAULT_WAIT = 10.0


class InspectApi:
    """Endpoints through which tests watch the bot and steer the sandbox."""

    def __init__(self, state: SandboxState):
        self.state = state

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the endpoints."""
        router.add_get("/sandbox/chats", self.chats)
        router.add_get("/sandbox/chats/{chat_id}/messages", self.messages)
        router.add_get("/sandbox/chats/{chat_id}/wait", self.wait)
        router.add_get("/sandbox/chats/{chat_id}/wait_edit", self.wait_edit)
        router.add_get("/sandbox/callback_answers", self.callback_answers)
        router.add_get("/sandbox/calls", self.calls)
        router.add_get("/sandbox/stats", self.stats)
        router.add_get("/sandbox/updates", self.pending_updates)
        router.add_post("/sandbox/faults", self.inject_fault)
        router.add_post("/sandbox/reset", self.reset)

    async def chats(self, request: web.Request) -> web.Response:
        """List every chat (private ones and groups), in the order they appeared, with its message count."""
        return json_reply(
            [{"chat": chat.as_chat(), "messages": len(chat.messages)} for chat in self.state.chats.values()]
        )

    async def messages(self, request: web.Request) -> web.Response:
        """List every message of a chat in order, in its current state."""
        chat = known_chat(self.state, request)
        return json_reply([stored.as_listing() for stored in chat.messages.values()])

    async def wait(self, request: web.Request) -> web.Response:
        """Wait until `count` bot messages after `after_message_id` exist (408 on timeout)."""
        chat = known_chat(self.state, request)
        after = integer(request.query, "after_message_id", 0) or 0
        count = integer(request.query, "count", 1) or 1
        timeout = number(request.query, "timeout", DEFAULT_WAIT)
        await chat.pulse.wait_for(
            lambda: self.state.closing or len(chat.bot_messages_after(after)) >= count, timeout
        )
        arrived = [stored.as_listing() for stored in chat.bot_messages_after(after)]
        return json_reply(arrived, status=200 if len(arrived) >= count else 408)

    async def wait_edit(self, request: web.Request) -> web.Response:
        """Wait until a message's edit counter exceeds `since_edit` (408 on timeout)."""
        chat = known_chat(self.state, request)
        message_id = required_integer(request.query, "message_id")
        since = integer(request.query, "since_edit", 0) or 0
        timeout = number(request.query, "timeout", DEFAULT_WAIT)
        stored = chat.messages.get(message_id)
        if stored is None:
            raise fail(404, f"message {message_id} not found in chat {chat.id}")
        await chat.pulse.wait_for(lambda: self.state.closing or stored.edit_count > since, timeout)
        return json_reply(stored.as_listing(), status=200 if stored.edit_count > since else 408)

    async def callback_answers(self, request: web.Request) -> web.Response:
        """List every answerCallbackQuery call."""
        return json_reply(self.state.callback_answers)

    async def calls(self, request: web.Request) -> web.Response:
        """List the bot's calls, optionally of one method (case-insensitive)."""
        method = request.query.get("method", "").lower()
        calls = self.state.calls
        return json_reply([call for call in calls if call["method"].lower() == method or not method])

    async def stats(self, request: web.Request) -> web.Response:
        """Return counters: accepted sends, 429s from flood limits, faults, calls per method."""
        stats = self.state.stats
        return json_reply(
            {
                "sent": stats["sent"],
                "rate_limited": stats["rate_limited"],
                "faults": stats["faults"],
                "by_method": dict(stats["by_method"]),
                "errors": dict(stats["errors"]),
                "calls": len(self.state.calls),
                "pending_updates": len(self.state.updates.pending),
            }
        )

    async def pending_updates(self, request: web.Request) -> web.Response:
        """List the updates the bot has not confirmed yet."""
        return json_reply(self.state.updates.pending)

    async def inject_fault(self, request: web.Request) -> web.Response:
        """Make the next matching bot calls fail."""
        body = await read_body(request)
        fault = Fault(
            method=str(body.get("method") or ANY_SEND),
            error_code=required_integer(body, "error_code"),
            count=integer(body, "count", 1) or 0,
            retry_after=integer(body, "retry_after"),
            description=body.get("description"),
            chat_id=integer(body, "chat_id"),
        )
        if fault.error_code < 400:
            raise fail(400, "error_code must be 400 or more")
        self.state.faults.add(fault)
        return json_reply({"pending_faults": len(self.state.faults.pending)})

    async def reset(self, request: web.Request) -> web.Response:
        """Forget everything but the bot."""
        self.state.clear()
        return json_reply({"ok": True})
