"""Forum topic methods; a topic's id is the message_id of its creation service message."""

from __future__ import annotations

from typing import Any

from telegram_sandbox.chats import Chat, Topic
from telegram_sandbox.errors import bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState
from telegram_sandbox.utf16 import units

TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
MAX_TOPIC_NAME = 128


@bot_method("createForumTopic")
def create_forum_topic(state: SandboxState, params: Params) -> dict[str, Any]:
    """Open a topic in a forum supergroup and return the ForumTopic."""
    chat = _forum(state, params)
    name = _topic_name(params.text("name"))
    icon_color = params.integer("icon_color", TOPIC_COLORS[0])
    if icon_color not in TOPIC_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    created: dict[str, Any] = {"name": name, "icon_color": icon_color}
    if params.text("icon_custom_emoji_id"):
        created["icon_custom_emoji_id"] = params.text("icon_custom_emoji_id")
    stored = state.post(
        chat,
        sender=state.bot.as_user(),
        content={"forum_topic_created": created},
        from_bot=True,
        service=True,
    )
    stored.data["message_thread_id"] = stored.id
    stored.data["is_topic_message"] = True
    topic = Topic(stored.id, name, icon_color, created.get("icon_custom_emoji_id"))
    chat.topics[topic.thread_id] = topic
    return topic.as_forum_topic()


@bot_method("editForumTopic")
def edit_forum_topic(state: SandboxState, params: Params) -> bool:
    """Rename a topic or change its icon."""
    chat = _forum(state, params)
    topic = _existing_topic(chat, params)
    edited: dict[str, Any] = {}
    if params.has("name") and _topic_name(params.text("name")) != topic.name:
        edited["name"] = topic.name = _topic_name(params.text("name"))
    emoji = params.text("icon_custom_emoji_id")
    if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
        topic.icon_custom_emoji_id = emoji or None
        edited["icon_custom_emoji_id"] = emoji
    if not edited:
        raise bad_request("TOPIC_NOT_MODIFIED")
    state.post(
        chat,
        sender=state.bot.as_user(),
        content={"forum_topic_edited": edited},
        from_bot=True,
        thread_id=topic.thread_id,
        service=True,
    )
    return True


@bot_method("deleteForumTopic")
def delete_forum_topic(state: SandboxState, params: Params) -> bool:
    """Delete a topic with all its messages."""
    chat = _forum(state, params)
    topic = _existing_topic(chat, params)
    topic.deleted = True
    for stored in chat.messages.values():
        if stored.data.get("message_thread_id") == topic.thread_id:
            stored.deleted = True
    chat.pulse.fire()
    return True


def _forum(state: SandboxState, params: Params) -> Chat:
    chat = state.chat(params.values.get("chat_id"))
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    return chat


def _existing_topic(chat: Chat, params: Params) -> Topic:
    topic = chat.topics.get(params.required_integer("message_thread_id"))
    if topic is None or topic.deleted:
        raise bad_request("TOPIC_ID_INVALID")
    return topic


def _topic_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise bad_request("TOPIC_TITLE_EMPTY")
    if units(name) > MAX_TOPIC_NAME:
        raise bad_request("TOPIC_TITLE_INVALID")
    return name
