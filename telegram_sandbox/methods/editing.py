"""Methods that change existing messages: edits, deletion and pins."""

from __future__ import annotations

import copy
from typing import Any

from telegram_sandbox.chats import Chat, StoredMessage
from telegram_sandbox.errors import bad_request
from telegram_sandbox.formatting import caption_text, message_text
from telegram_sandbox.markup import parse_inline_markup
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@bot_method("editMessageText", sends=True)
def edit_message_text(state: SandboxState, params: Params) -> dict[str, Any]:
    """Replace a bot message's text (omitting reply_markup removes the inline keyboard)."""
    chat, stored = _editable(state, params)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    text, entities = message_text(
        params.text("text"), params.text("parse_mode"), params.structured("entities")
    )
    markup = parse_inline_markup(params.structured("reply_markup"))
    return _apply(state, chat, stored, {"text": text, "entities": entities}, markup)


@bot_method("editMessageCaption", sends=True)
def edit_message_caption(state: SandboxState, params: Params) -> dict[str, Any]:
    """Replace a media message's caption (omitting reply_markup removes the inline keyboard)."""
    chat, stored = _editable(state, params)
    if "text" in stored.data:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = caption_text(
        params.text("caption"), params.text("parse_mode"), params.structured("caption_entities")
    )
    markup = parse_inline_markup(params.structured("reply_markup"))
    changes = {"caption": caption, "caption_entities": entities if caption else None}
    return _apply(state, chat, stored, changes, markup)


@bot_method("editMessageReplyMarkup", sends=True)
def edit_message_reply_markup(state: SandboxState, params: Params) -> dict[str, Any]:
    """Replace or remove a bot message's inline keyboard."""
    chat, stored = _editable(state, params)
    markup = parse_inline_markup(params.structured("reply_markup"))
    return _apply(state, chat, stored, {}, markup)


@bot_method("deleteMessage")
def delete_message(state: SandboxState, params: Params) -> bool:
    """Delete a message; it stays listed in the sandbox, marked deleted."""
    chat = state.chat(params.values.get("chat_id"))
    stored = chat.live_message(params.integer("message_id"))
    if stored is None:
        raise bad_request("message to delete not found")
    stored.deleted = True
    chat.pulse.fire()
    return True


@bot_method("pinChatMessage")
def pin_chat_message(state: SandboxState, params: Params) -> bool:
    """Pin a message (only checked, nothing visible changes)."""
    chat = state.chat(params.values.get("chat_id"))
    if chat.live_message(params.integer("message_id")) is None:
        raise bad_request("message to pin not found")
    return True


@bot_method("unpinChatMessage")
def unpin_chat_message(state: SandboxState, params: Params) -> bool:
    """Unpin a message (only checked)."""
    state.chat(params.values.get("chat_id"))
    return True


def _editable(state: SandboxState, params: Params) -> tuple[Chat, StoredMessage]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not simulated
    chat = state.writable_chat(params.values.get("chat_id"))
    stored = chat.live_message(params.integer("message_id"))
    if stored is None:
        raise bad_request("message to edit not found")
    if not stored.from_bot or stored.service:
        raise bad_request("message can't be edited")
    return chat, stored


def _apply(
    state: SandboxState,
    chat: Chat,
    stored: StoredMessage,
    changes: dict[str, Any],
    markup: dict[str, Any] | None,
) -> dict[str, Any]:
    proposed = {**changes, "reply_markup": markup}
    current = {key: stored.data.get(key) for key in proposed}
    if _normalized(current) == _normalized(proposed):
        raise bad_request(NOT_MODIFIED)
    for key, value in proposed.items():
        if value:
            stored.data[key] = value
        else:
            stored.data.pop(key, None)
    state.mark_edited(chat, stored)
    return copy.deepcopy(stored.data)


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value}
