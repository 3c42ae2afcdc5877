"""Everything the sandbox remembers: users, chats, files, updates, callbacks and logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram_sandbox.chats import Chat, StoredMessage
from telegram_sandbox.errors import bad_request, forbidden
from telegram_sandbox.faults import FaultBook
from telegram_sandbox.files import FileStore
from telegram_sandbox.people import BotIdentity, User
from telegram_sandbox.rate_limits import RateLimiter, RateLimits
from telegram_sandbox.updates import UpdateQueue
from telegram_sandbox.webhook import WebhookDelivery

CALLBACK_ANSWER_WINDOW = 15  # seconds Telegram waits for answerCallbackQuery


@dataclass
class CallbackRecord:
    """A callback query the bot may still answer."""

    created: float
    answered: bool = False


class SandboxState:
    """The whole sandbox world behind both the bot-side and the user-side API."""

    def __init__(self, bot: BotIdentity, clock: Callable[[], float], rate_limits: RateLimits | None,
                 webhook_retry: float = 1.0):
        self.bot = bot
        self.clock = clock
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.webhook = WebhookDelivery(self.updates, webhook_retry)
        self.faults = FaultBook()
        self.limiter = RateLimiter(rate_limits, clock)
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.stats = self._empty_stats()
        self.closing = False

    @staticmethod
    def _empty_stats() -> dict[str, Any]:
        return {"sent": 0, "rate_limited": 0, "faults": 0, "by_method": Counter(), "errors": Counter()}

    def now(self) -> int:
        """Return the clock as Telegram's integer unix time."""
        return int(self.clock())

    def add_user(self, user: User) -> Chat:
        """Create or update a user and its private chat."""
        existing = self.users.get(user.id)
        if existing is not None:
            user.blocked = existing.blocked
        self.users[user.id] = user
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = Chat(id=user.id, type="private", user=user)
        chat.user = user
        return chat

    def add_group(self, chat: Chat) -> Chat:
        """Create or replace a group chat."""
        self.chats[chat.id] = chat
        return chat

    def find_chat(self, raw_chat_id: Any) -> Chat | None:
        """Return a chat by numeric id or "@username"."""
        if isinstance(raw_chat_id, str) and raw_chat_id.startswith("@"):
            username = raw_chat_id[1:].lower()
            return next(
                (
                    chat
                    for chat in self.chats.values()
                    if chat.user and (chat.user.username or "").lower() == username
                ),
                None,
            )
        try:
            return self.chats.get(int(raw_chat_id))
        except (TypeError, ValueError):
            return None

    def chat(self, raw_chat_id: Any) -> Chat:
        """Return a chat, or raise the Bad Request Telegram gives."""
        if raw_chat_id is None or raw_chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self.find_chat(raw_chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, raw_chat_id: Any) -> Chat:
        """Return a chat the bot may send to, refusing users who blocked it."""
        chat = self.chat(raw_chat_id)
        if chat.user is not None and chat.user.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def post(
        self,
        chat: Chat,
        *,
        sender: dict[str, Any],
        content: dict[str, Any],
        from_bot: bool,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
        service: bool = False,
    ) -> StoredMessage:
        """Add a message to a chat with the next message_id and wake its waiters."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        data: dict[str, Any] = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.as_chat(),
            "date": self.now(),
        }
        if thread_id is not None:
            data["message_thread_id"] = thread_id
            if chat.is_forum:
                data["is_topic_message"] = True
                # Telegram shows messages in a topic as replies to the topic's first message.
                reply_to = reply_to or chat.messages.get(thread_id)
        if reply_to is not None:
            data["reply_to_message"] = reply_to.snapshot()
        data.update(content)
        stored = StoredMessage(data=data, from_bot=from_bot, service=service)
        chat.messages[message_id] = stored
        chat.pulse.fire()
        return stored

    def mark_edited(self, chat: Chat, stored: StoredMessage) -> None:
        """Stamp an edit on a message and wake its waiters."""
        stored.data["edit_date"] = self.now()
        stored.edit_count += 1
        chat.pulse.fire()

    def record_call(self, entry: dict[str, Any]) -> None:
        """Append one bot call to the log and the counters."""
        self.calls.append(entry)
        self.stats["by_method"][entry["method"]] += 1
        if entry["status"] != 200:
            self.stats["errors"][str(entry["status"])] += 1

    def clear(self) -> None:
        """Forget everything except the bot itself; update ids keep increasing."""
        stale_chats = list(self.chats.values())
        self.users.clear()
        self.chats.clear()
        self.files.clear()
        self.updates.drop_pending()
        self.updates.allowed = None
        self.webhook.delete()
        self.faults.clear()
        self.limiter.reset()
        self.callbacks.clear()
        self.callback_answers.clear()
        self.calls.clear()
        self.commands.clear()
        self.stats = self._empty_stats()
        for chat in stale_chats:
            chat.pulse.fire()

    def close(self) -> None:
        """Release every waiter because the server is stopping."""
        self.closing = True
        self.updates.close()
        for chat in self.chats.values():
            chat.pulse.fire()
