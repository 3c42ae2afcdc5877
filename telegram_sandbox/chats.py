"""Chats, their messages in current state, and forum topics."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.people import User
from telegram_sandbox.pulse import Pulse


@dataclass
class Topic:
    """A forum topic; its id is the id of the service message that created it."""

    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    deleted: bool = False

    def as_forum_topic(self) -> dict[str, Any]:
        """Return the topic as a Telegram ForumTopic."""
        topic: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            topic["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return topic


@dataclass
class StoredMessage:
    """A message in its current state (data is the Telegram Message object)."""

    data: dict[str, Any]
    from_bot: bool
    service: bool = False
    deleted: bool = False
    edit_count: int = 0
    reply_keyboard: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        """Return the message_id."""
        return self.data["message_id"]

    def snapshot(self) -> dict[str, Any]:
        """Return a copy fit for nesting (reply_to_message never nests further)."""
        data = copy.deepcopy(self.data)
        data.pop("reply_to_message", None)
        return data

    def as_listing(self) -> dict[str, Any]:
        """Return the message plus sandbox-only facts under "sandbox"."""
        listing = copy.deepcopy(self.data)
        listing["sandbox"] = {
            "from_bot": self.from_bot,
            "service": self.service,
            "deleted": self.deleted,
            "edit_count": self.edit_count,
            "reply_keyboard": self.reply_keyboard,
        }
        return listing


@dataclass
class Chat:
    """A private chat (id == user id) or a group/supergroup (negative id)."""

    id: int
    type: str
    title: str | None = None
    user: User | None = None
    is_forum: bool = False
    member_ids: list[int] = field(default_factory=list)
    bot_status: str = "administrator"  # the bot's own ChatMember status in a group
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    next_message_id: int = 1
    chat_instance: str = field(default_factory=lambda: str(secrets.randbits(62)))
    pulse: Pulse = field(default_factory=Pulse)

    def as_chat(self) -> dict[str, Any]:
        """Return the chat as a Telegram Chat."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            chat.update(
                {
                    key: value
                    for key, value in self.user.as_user().items()
                    if key in ("first_name", "last_name", "username")
                }
            )
        else:
            chat["title"] = self.title
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def as_full_info(self) -> dict[str, Any]:
        """Return the chat as the ChatFullInfo getChat answers with."""
        return {
            **self.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def live_message(self, message_id: int | None) -> StoredMessage | None:
        """Return a message that exists and was not deleted."""
        stored = self.messages.get(message_id) if message_id is not None else None
        return stored if stored is not None and not stored.deleted else None

    def open_topic(self, thread_id: int) -> Topic:
        """Return a live topic of this forum, or raise "message thread not found"."""
        topic = self.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return topic

    def bot_messages_after(self, message_id: int) -> list[StoredMessage]:
        """Return the bot's non-service messages with a larger message_id."""
        return [
            stored
            for stored in self.messages.values()
            if stored.from_bot and not stored.service and stored.id > message_id
        ]
