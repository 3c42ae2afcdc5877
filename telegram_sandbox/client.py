"""SandboxClient: the user side of the sandbox from Python, for tests, benchmarks and demos."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import aiohttp

REQUEST_TIMEOUT = 30.0
WAIT_MARGIN = 5.0  # extra HTTP time on top of a server-side wait


class SandboxError(Exception):
    """The sandbox refused a user-side request."""

    def __init__(self, status: int, description: str):
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class SandboxTimeoutError(TimeoutError):
    """A wait ended before enough happened; `arrived` holds what did."""

    def __init__(self, message: str, arrived: Any):
        super().__init__(message)
        self.arrived = arrived


class SandboxClient:
    """Plays users against a running sandbox: `async with SandboxClient(url) as c: ...`."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_user(
        self,
        id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        *,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a user and its private chat; returns {"user", "chat"}."""
        body = {
            "id": id,
            "first_name": first_name,
            "language_code": language_code,
            "username": username,
            "last_name": last_name,
        }
        return await self._post("/sandbox/users", body)

    async def create_group(
        self,
        chat_id: int,
        title: str,
        *,
        is_forum: bool = False,
        member_ids: Iterable[int] = (),
        type: str = "supergroup",
        bot_status: str = "administrator",
    ) -> dict[str, Any]:
        """Create a group (negative id) with existing users as members and the bot as administrator (or
        "member"); returns {"chat", ...}."""
        body = {
            "id": chat_id,
            "type": type,
            "title": title,
            "is_forum": is_forum,
            "member_ids": list(member_ids),
            "bot_status": bot_status,
        }
        return await self._post("/sandbox/chats", body)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        from_id: int | None = None,
        deliver_twice: bool = False,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Send a text as a user; returns {"update_id", "message"}."""
        return await self._send(
            chat_id,
            kind="text",
            text=text,
            from_id=from_id,
            deliver_twice=deliver_twice,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )

    async def send_photo(
        self,
        chat_id: int,
        data: bytes,
        *,
        from_id: int | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        declared_file_size: int | None = None,
    ) -> dict[str, Any]:
        """Send a photo as a user; returns {"update_id", "message"}."""
        return await self._send(
            chat_id,
            kind="photo",
            data_base64=base64.b64encode(data).decode(),
            from_id=from_id,
            caption=caption,
            media_group_id=media_group_id,
            declared_file_size=declared_file_size,
        )

    async def send_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        from_id: int | None = None,
        media_group_id: str | None = None,
        declared_file_size: int | None = None,
    ) -> dict[str, Any]:
        """Send a document as a user; returns {"update_id", "message"}."""
        return await self._send(
            chat_id,
            kind="document",
            data_base64=base64.b64encode(data).decode(),
            file_name=file_name,
            mime_type=mime_type,
            from_id=from_id,
            media_group_id=media_group_id,
            declared_file_size=declared_file_size,
        )

    async def send_other(self, chat_id: int, kind: str, *, from_id: int | None = None) -> dict:
        """Send a sticker, voice, video, animation, location, contact, video_note, audio,
        poll or dice as a user; returns {"update_id", "message"}."""
        return await self._send(chat_id, kind=kind, from_id=from_id)

    async def press(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        from_id: int | None = None,
        forge: bool = False,
    ) -> dict[str, Any]:
        """Press an inline button (forge=True skips the keyboard check);
        returns {"update_id", "callback_query_id"}."""
        body = {"from": from_id, "message_id": message_id, "data": data, "forge": forge}
        return await self._post(f"/sandbox/chats/{chat_id}/press", body)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, from_id: int | None = None
    ) -> dict[str, Any]:
        """Edit, as its sender, the text (or caption) of a user's message; returns {"update_id", "message"}
        (update_id is None when the bot's allowed_updates leave out edited_message)."""
        body = {"from": from_id, "message_id": message_id, "text": text}
        return await self._post(f"/sandbox/chats/{chat_id}/edit", body)

    async def chats(self) -> list[dict[str, Any]]:
        """Return every chat as {"chat": Chat, "messages": count}, in the order they appeared."""
        return await self._get("/sandbox/chats")

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Return every message of a chat, in order and in its current state."""
        return await self._get(f"/sandbox/chats/{chat_id}/messages")

    async def wait_for_bot_messages(
        self, chat_id: int, *, after_message_id: int = 0, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait for `count` bot messages after `after_message_id`; raise TimeoutError if fewer."""
        query = {"after_message_id": after_message_id, "count": count, "timeout": timeout}
        status, arrived = await self._request(
            "GET",
            f"/sandbox/chats/{chat_id}/wait",
            params=query,
            timeout=timeout + WAIT_MARGIN,
            accept=(200, 408),
        )
        if status == 408:
            texts = [message.get("text", message.get("caption")) for message in arrived]
            raise SandboxTimeoutError(
                f"expected {count} bot message(s) after #{after_message_id} in chat {chat_id} "
                f"within {timeout}s, got {len(arrived)}: {texts!r}",
                arrived,
            )
        return arrived

    async def wait_for_edit(
        self, chat_id: int, message_id: int, *, since_edit: int = 0, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait until a message has been edited more than `since_edit` times; return it."""
        query = {"message_id": message_id, "since_edit": since_edit, "timeout": timeout}
        status, message = await self._request(
            "GET",
            f"/sandbox/chats/{chat_id}/wait_edit",
            params=query,
            timeout=timeout + WAIT_MARGIN,
            accept=(200, 408),
        )
        if status == 408:
            raise SandboxTimeoutError(
                f"message #{message_id} in chat {chat_id} was not edited within {timeout}s "
                f"(edits so far: {message['sandbox']['edit_count']})",
                message,
            )
        return message

    async def callback_answers(self) -> list[dict[str, Any]]:
        """Return every answerCallbackQuery call: {callback_query_id, text, show_alert, ...}."""
        return await self._get("/sandbox/callback_answers")

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Return the bot's call log, optionally only one method's calls."""
        return await self._get("/sandbox/calls", params={"method": method} if method else None)

    async def stats(self) -> dict[str, Any]:
        """Return the counters: sent, rate_limited, faults, by_method, errors."""
        return await self._get("/sandbox/stats")

    async def pending_updates(self) -> list[dict[str, Any]]:
        """Return the updates the bot has not confirmed yet."""
        return await self._get("/sandbox/updates")

    async def inject_fault(
        self,
        method: str = "*",
        *,
        error_code: int,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
        count: int = 1,
    ) -> dict[str, Any]:
        """Make the next `count` matching calls fail ("*" = any send/edit, "download" = file downloads)."""
        body = {
            "method": method,
            "error_code": error_code,
            "retry_after": retry_after,
            "description": description,
            "chat_id": chat_id,
            "count": count,
        }
        return await self._post("/sandbox/faults", body)

    async def set_blocked(self, user_id: int, blocked: bool) -> dict[str, Any]:
        """Block or unblock the bot as this user; returns {"blocked", "update_id"}."""
        return await self._post(f"/sandbox/users/{user_id}/blocked", {"blocked": blocked})

    async def reset(self) -> None:
        """Forget all users, chats, files, updates, logs and faults."""
        await self._post("/sandbox/reset", {})

    async def _send(self, chat_id: int, *, from_id: int | None, **fields: Any) -> dict:
        body = {key: value for key, value in fields.items() if value not in (None, False)}
        if from_id is not None:
            body["from"] = from_id
        return await self._post(f"/sandbox/chats/{chat_id}/send", body)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return (await self._request("GET", path, params=params))[1]

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self._request("POST", path, json=body))[1]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float = REQUEST_TIMEOUT,
        accept: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        query = {key: str(value) for key, value in (params or {}).items()}
        async with self._session.request(
            method,
            self.base_url + path,
            json=json,
            params=query,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.json(content_type=None)
            if response.status not in accept:
                description = body.get("error") if isinstance(body, dict) else None
                raise SandboxError(response.status, description or str(body))
            return response.status, body


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (text, callback_data) of every inline button in order ("" for non-callback ones)."""
    markup = message.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def button_data(message: dict[str, Any], text_contains: str) -> str:
    """Return the callback_data of the first button whose text contains `text_contains`."""
    for text, data in buttons(message):
        if text_contains in text and data:
            return data
    raise LookupError(f"no callback button containing {text_contains!r} in {buttons(message)!r}")
