"""Steps shared by the methods that send messages: target chat, thread, reply, markup."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from telegram_sandbox.chats import Chat, StoredMessage
from telegram_sandbox.errors import bad_request
from telegram_sandbox.markup import Markup, parse_markup
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState


@dataclass
class SendTarget:
    """Where and how a new bot message goes."""

    state: SandboxState
    chat: Chat
    thread_id: int | None
    reply_to: StoredMessage | None
    markup: Markup
    protect_content: bool

    def deliver(self, content: dict[str, Any]) -> dict[str, Any]:
        """Post the bot message and return the complete Message object."""
        return copy.deepcopy(self.post(content).data)

    def post(self, content: dict[str, Any]) -> StoredMessage:
        """Post the bot message and return it as stored."""
        if self.markup.inline is not None:
            content["reply_markup"] = self.markup.inline
        if self.protect_content:
            content["has_protected_content"] = True
        stored = self.state.post(
            self.chat,
            sender=self.state.bot.as_user(),
            content=content,
            from_bot=True,
            thread_id=self.thread_id,
            reply_to=self.reply_to,
        )
        stored.reply_keyboard = self.markup.keyboard
        return stored


def send_target(state: SandboxState, params: Params) -> SendTarget:
    """Resolve and check chat_id, message_thread_id, the reply and reply_markup of a send."""
    chat = state.writable_chat(params.values.get("chat_id"))
    return SendTarget(
        state=state,
        chat=chat,
        thread_id=checked_thread(chat, params.integer("message_thread_id")),
        reply_to=reply_target(chat, params),
        markup=parse_markup(params.structured("reply_markup")),
        protect_content=params.flag("protect_content"),
    )


def checked_thread(chat: Chat, thread_id: int | None) -> int | None:
    """Return thread_id if it names a live forum topic (or reply thread) of the chat."""
    if thread_id is None:
        return None
    if chat.is_forum:
        chat.open_topic(thread_id)
    elif chat.type == "private" or chat.live_message(thread_id) is None:
        raise bad_request("message thread not found")
    return thread_id


def reply_target(chat: Chat, params: Params) -> StoredMessage | None:
    """Return the message a send replies to (reply_parameters or reply_to_message_id)."""
    reply = params.structured("reply_parameters")
    if reply is not None and not isinstance(reply, dict):
        raise bad_request("can't parse reply parameters JSON object")
    if reply:
        message_id = reply.get("message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = params.integer("reply_to_message_id")
        allow_missing = params.flag("allow_sending_without_reply")
    if message_id is None:
        return None
    target = chat.live_message(int(message_id))
    if target is None and not allow_missing:
        raise bad_request("message to be replied not found")
    return target


def source_message(state: SandboxState, params: Params, action: str) -> StoredMessage:
    """Return the message from_chat_id/message_id name, for copy and forward."""
    chat = state.chat(params.values.get("from_chat_id"))
    stored = chat.live_message(params.integer("message_id"))
    if stored is None:
        raise bad_request(f"message to {action} not found")
    return stored
