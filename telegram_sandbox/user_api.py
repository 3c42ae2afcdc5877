"""The people side under /sandbox/: users and groups appear, write, upload, press and block."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from aiohttp import web

from telegram_sandbox.chats import Chat
from telegram_sandbox.content import (
    OTHER_KINDS,
    caption_content,
    document_content,
    other_content,
    photo_content,
    text_content,
)
from telegram_sandbox.errors import ApiError
from telegram_sandbox.formatting import MAX_CAPTION, MAX_TEXT, command_entities
from telegram_sandbox.markup import callback_data_in
from telegram_sandbox.members import member
from telegram_sandbox.methods.common import checked_thread
from telegram_sandbox.people import User
from telegram_sandbox.state import CallbackRecord, SandboxState
from telegram_sandbox.user_requests import (
    fail,
    integer,
    json_reply,
    read_body,
    required_integer,
)
from telegram_sandbox.utf16 import units

CAPTIONED_KINDS = ("photo", "document", "video", "audio", "animation", "voice")


def known_chat(state: SandboxState, request: web.Request, *, create_private: bool = False) -> Chat:
    """Return the chat named in the path; a private chat appears when its user first writes."""
    chat_id = required_integer(request.match_info, "chat_id")
    chat = state.chats.get(chat_id)
    if chat is None and create_private and chat_id > 0:
        chat = state.add_user(User(id=chat_id))
    if chat is None:
        raise fail(404, f"chat {chat_id} not found")
    return chat


class UserApi:
    """Endpoints through which tests act as the people talking to the bot."""

    def __init__(self, state: SandboxState):
        self.state = state

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the endpoints."""
        router.add_post("/sandbox/users", self.create_user)
        router.add_post("/sandbox/users/{user_id}/blocked", self.set_blocked)
        router.add_post("/sandbox/chats", self.create_chat)
        router.add_post("/sandbox/chats/{chat_id}/send", self.send)
        router.add_post("/sandbox/chats/{chat_id}/press", self.press)
        router.add_post("/sandbox/chats/{chat_id}/edit", self.edit)

    async def create_user(self, request: web.Request) -> web.Response:
        """Create or update a user and its private chat (chat id == user id)."""
        body = await read_body(request)
        user_id = required_integer(body, "id")
        if user_id <= 0:
            raise fail(400, "user id must be positive")
        user = User(
            id=user_id,
            first_name=str(body.get("first_name") or "Test"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
        )
        chat = self.state.add_user(user)
        return json_reply({"user": user.as_user(), "chat": chat.as_chat()})

    async def set_blocked(self, request: web.Request) -> web.Response:
        """Block or unblock the bot; a change emits a my_chat_member update."""
        user = self._user(required_integer(request.match_info, "user_id"))
        blocked = bool((await read_body(request)).get("blocked", True))
        update_id = None
        if blocked != user.blocked:
            user.blocked = blocked
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            change = self._member_change(self.state.chats[user.id], user, old, new)
            update_id = self.state.updates.push("my_chat_member", change)
        return json_reply({"blocked": user.blocked, "update_id": update_id})

    async def create_chat(self, request: web.Request) -> web.Response:
        """Create a group or supergroup; the bot joins it as administrator (or as bot_status says)."""
        body = await read_body(request)
        chat_id = required_integer(body, "id")
        chat_type = body.get("type", "supergroup")
        title = str(body.get("title") or "")
        is_forum = bool(body.get("is_forum", False))
        member_ids = [int(member_id) for member_id in body.get("member_ids") or []]
        bot_status = body.get("bot_status", "administrator")
        if chat_id >= 0:
            raise fail(400, "group chat ids must be negative")
        if bot_status not in ("administrator", "member"):
            raise fail(400, 'bot_status must be "administrator" or "member"')
        if chat_type not in ("group", "supergroup"):
            raise fail(400, 'type must be "group" or "supergroup"')
        if is_forum and chat_type != "supergroup":
            raise fail(400, "only supergroups can be forums")
        if not title:
            raise fail(400, "title is required")
        missing = [member_id for member_id in member_ids if member_id not in self.state.users]
        if missing:
            raise fail(400, f"create these users first: {missing}")
        chat = self.state.chats.get(chat_id)
        if chat is not None:
            chat.type, chat.title, chat.is_forum = chat_type, title, is_forum
            chat.member_ids, chat.bot_status = member_ids, bot_status
            return json_reply({"chat": chat.as_chat(), "update_id": None})
        chat = self.state.add_group(
            Chat(chat_id, chat_type, title, is_forum=is_forum, member_ids=member_ids, bot_status=bot_status)
        )
        update_id = None
        if member_ids:
            adder = self.state.users[member_ids[0]]
            change = self._member_change(chat, adder, "left", bot_status)
            update_id = self.state.updates.push("my_chat_member", change)
        return json_reply({"chat": chat.as_chat(), "update_id": update_id})

    async def send(self, request: web.Request) -> web.Response:
        """A person sends a message; the bot gets a message update."""
        chat = known_chat(self.state, request, create_private=True)
        body = await read_body(request)
        user = self._sender(chat, body)
        thread_id = self._thread(chat, integer(body, "message_thread_id"))
        reply_to = None
        reply_to_id = integer(body, "reply_to_message_id")
        if reply_to_id is not None:
            reply_to = chat.live_message(reply_to_id)
            if reply_to is None:
                raise fail(400, f"message {reply_to_id} not found in chat {chat.id}")
        content = self._content(body)
        if body.get("media_group_id"):
            content["media_group_id"] = str(body["media_group_id"])
        stored = self.state.post(
            chat,
            sender=user.as_user(),
            content=content,
            from_bot=False,
            thread_id=thread_id,
            reply_to=reply_to,
        )
        twice = bool(body.get("deliver_twice"))
        update_id = self.state.updates.push("message", stored.data, twice=twice)
        return json_reply({"update_id": update_id, "message": stored.data})

    async def edit(self, request: web.Request) -> web.Response:
        """A person edits the text or caption of a message they sent; the bot gets an edited_message update
        (if its allowed_updates admit one: Telegram's default list does)."""
        chat = known_chat(self.state, request)
        body = await read_body(request)
        user = self._sender(chat, body)
        message_id = required_integer(body, "message_id")
        stored = chat.live_message(message_id)
        if stored is None:
            raise fail(400, f"message {message_id} not found in chat {chat.id} (or deleted)")
        if stored.from_bot or stored.data.get("from", {}).get("id") != user.id:
            raise fail(400, f"message {message_id} in chat {chat.id} was not sent by user {user.id}")
        content = self._edited_content(stored.data, body)
        for stale in ("entities", "caption_entities"):
            stored.data.pop(stale, None)
        stored.data.update(content)
        self.state.mark_edited(chat, stored)
        update_id = self.state.updates.push("edited_message", stored.data)
        return json_reply({"update_id": update_id, "message": stored.data})

    async def press(self, request: web.Request) -> web.Response:
        """A person presses an inline button; the bot gets a callback_query update."""
        chat = known_chat(self.state, request)
        body = await read_body(request)
        user = self._sender(chat, body)
        message_id = required_integer(body, "message_id")
        data = body.get("data")
        if not isinstance(data, str):
            raise fail(400, "data (the callback_data to press) is required")
        if not body.get("forge"):
            self._check_press(chat, message_id, data)
        stored = chat.live_message(message_id)
        if stored is not None:
            message = stored.as_listing()
            del message["sandbox"]
        else:
            # What Telegram sends for a message the bot can no longer see.
            message = {"chat": chat.as_chat(), "message_id": message_id, "date": 0}
        query_id = str(secrets.randbits(63))
        self.state.callbacks[query_id] = CallbackRecord(created=self.state.clock())
        callback = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        update_id = self.state.updates.push("callback_query", callback)
        return json_reply({"update_id": update_id, "callback_query_id": query_id})

    def _user(self, user_id: int) -> User:
        user = self.state.users.get(user_id)
        if user is None:
            raise fail(404, f"user {user_id} not found; create it first")
        return user

    def _sender(self, chat: Chat, body: dict[str, Any]) -> User:
        if chat.user is not None:
            sender_id = integer(body, "from", chat.id)
            if sender_id != chat.id:
                raise fail(400, f"only user {chat.id} writes in private chat {chat.id}")
        else:
            sender_id = integer(body, "from")
            if sender_id is None:
                raise fail(400, "from (the sender's user id) is required in groups")
            if sender_id not in chat.member_ids:
                raise fail(400, f"user {sender_id} is not a member of chat {chat.id}")
        user = self._user(sender_id)
        if user.blocked:
            raise fail(409, f"user {sender_id} has blocked the bot; unblock it first")
        return user

    def _check_press(self, chat: Chat, message_id: int, data: str) -> None:
        stored = chat.live_message(message_id)
        if stored is None:
            raise fail(400, f"message {message_id} not found in chat {chat.id} (or deleted)")
        if not stored.from_bot:
            raise fail(400, f"message {message_id} in chat {chat.id} was not sent by the bot")
        markup = stored.data.get("reply_markup")
        if not callback_data_in(markup, data):
            present = [
                button.get("callback_data")
                for row in (markup or {}).get("inline_keyboard", [])
                for button in row
            ]
            raise fail(
                400,
                f"message {message_id} in chat {chat.id} has no inline button with "
                f"callback_data {data!r}; its buttons carry {present!r}",
            )

    @staticmethod
    def _edited_content(message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """The new text (of a text message) or caption (of a media message), refused if unchanged."""
        new = body.get("text")
        if not isinstance(new, str) or not new.strip():
            raise fail(400, "text (the new text or caption) is required")
        field = "text" if "text" in message else "caption"
        if field == "caption" and not any(kind in message for kind in CAPTIONED_KINDS):
            raise fail(400, "only a text or a captioned media message can be edited")
        if new == message.get(field):
            raise fail(400, "message is not modified")
        limit = MAX_TEXT if field == "text" else MAX_CAPTION
        if units(new) > limit:
            raise fail(400, f"{field} is longer than {limit}")
        if field == "text":
            return text_content(new, command_entities(new))
        return caption_content(new, [])

    @staticmethod
    def _thread(chat: Chat, thread_id: int | None) -> int | None:
        try:
            return checked_thread(chat, thread_id)
        except ApiError as error:
            raise fail(400, error.description) from None

    def _content(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("kind", "text")
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise fail(400, "text is required")
            if units(text) > MAX_TEXT:
                raise fail(400, f"text is longer than {MAX_TEXT}")
            return text_content(text, command_entities(text))
        caption = body.get("caption")
        if caption is not None and units(str(caption)) > MAX_CAPTION:
            raise fail(400, f"caption is longer than {MAX_CAPTION}")
        captioned = caption_content(str(caption), []) if caption else {}
        declared = integer(body, "declared_file_size")
        files = self.state.files
        if kind == "photo":
            photo = photo_content(files, _data(body), declared_file_size=declared)
            return {**photo, **captioned}
        if kind == "document":
            document = document_content(
                files,
                _data(body),
                body.get("file_name") or "file.bin",
                body.get("mime_type"),
                declared_file_size=declared,
            )
            return {**document, **captioned}
        if kind in OTHER_KINDS:
            data = _data(body) if body.get("data_base64") else None
            return {**other_content(files, kind, data), **captioned}
        raise fail(400, f"unknown kind {kind!r}")

    def _member_change(self, chat: Chat, user: User, old: str, new: str) -> dict[str, Any]:
        bot = self.state.bot.as_user()
        return {
            "chat": chat.as_chat(),
            "from": user.as_user(),
            "date": self.state.now(),
            "old_chat_member": member(bot, old),
            "new_chat_member": member(bot, new),
        }


def _data(body: dict[str, Any]) -> bytes:
    try:
        data = base64.b64decode(body.get("data_base64") or "", validate=True)
    except (binascii.Error, ValueError):
        raise fail(400, "data_base64 is not valid base64") from None
    if not data:
        raise fail(400, "data_base64 is required and must not be empty")
    return data
