"""The delivery worker: drains the outbox within Telegram's limits and loses nothing."""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.delivery.notices import buttons_from_json
from handlers.delivery.pacing import LocalGate, RateGate
from handlers.ports import Clock, Messenger, RecipientUnreachable, RetryAfter, ThreadGone
from storage.database import Database
from storage.models import OutboxMessage, id_of
from storage.outbox import (
    claim_due_messages,
    drop_pending_for_chat,
    mark_failed,
    mark_sent,
    postpone_pending_for_chat,
    renew_lease,
    retry_later,
)
from storage.users import set_reachable

if TYPE_CHECKING:
    from handlers.support.cards import CardPublisher

log = logging.getLogger(__name__)
Params = ParamSpec("Params")


@dataclass
class DeliveryPolicy:
    """Limits and retries of the delivery worker."""

    rate_per_second: float = 25
    per_chat_interval: float = 1.1  # a margin over Telegram's one message per second per chat
    batch: int = 50
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 6
    base_backoff: timedelta = timedelta(seconds=2)
    # A group that refuses the bot (403) is retried forever, at most this far apart.
    max_group_backoff: timedelta = timedelta(minutes=10)
    # BROADCAST_PAID: broadcast messages go with allow_paid_broadcast at this rate of their own (None: off).
    paid_broadcast_rate: float | None = None

    @property
    def claim_size(self) -> int:
        """Rows claimed at once: about one second's sending (a transactional message waits that at most)."""
        fastest = max(self.rate_per_second, self.paid_broadcast_rate or 0)
        return max(1, min(self.batch, math.ceil(fastest)))


@dataclass
class DeliveryStats:
    """What the worker did since it started."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    rate_limited: int = 0


@dataclass
class DeliveryWorker:
    """Sends outbox rows: global rate, per-chat spacing, transactional first, 429 pauses everything."""

    db: Database
    messenger: Messenger
    clock: Clock
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    cards: "CardPublisher | None" = None
    redact: Callable[[str], str] = str  # takes the secrets out of an error's text before it is stored
    # Sending turns; None: this process's own (turns 1/rate apart, at most one over the rate in any second)
    gate: RateGate | None = None

    def __post_init__(self) -> None:
        policy = self.policy
        self.turns: RateGate = self.gate or LocalGate(
            policy.rate_per_second, policy.per_chat_interval, policy.paid_broadcast_rate
        )
        self._refusals: dict[int, int] = {}  # group chat id -> 403s in a row

    async def drain(self) -> int:
        """Send batches until nothing is due; return how many messages went out."""
        total = 0
        while True:
            sent, claimed, deferred = await self.deliver_batch()
            total += sent
            if claimed < self.policy.claim_size and not deferred:
                return total

    async def deliver_batch(self) -> tuple[int, int, int]:
        """Claim one batch and send it, chats in parallel; return (sent, claimed, deferred).

        Only a chat's first message goes out in a batch; the rest wait for a later batch, so one busy
        chat (one message per second at most) never holds up everybody else's messages.
        """
        async with self.db.transaction() as session:
            claimed = await claim_due_messages(
                session, now=self.clock(), limit=self.policy.claim_size, lease=self.policy.lease
            )
        first_of_chat: dict[int, OutboxMessage] = {}
        later = []
        for message in claimed:
            if message.chat_id in first_of_chat:
                later.append(message)
            else:
                first_of_chat[message.chat_id] = message
        if later:
            await self._release(later, reason="waiting for its chat's turn")
        outcomes = await asyncio.gather(*(self._send_one(message) for message in first_of_chat.values()))
        return outcomes.count("sent"), len(claimed), len(later)

    async def wait_turn(self, chat_id: int, *, paid: bool = False) -> None:
        """Wait until a message to `chat_id` may go (rate, chat spacing, 429 pause) and take that turn."""
        await self.turns.wait_turn(chat_id, paid=paid and self.policy.paid_broadcast_rate is not None)

    def _is_paid(self, message: OutboxMessage) -> bool:
        return self.policy.paid_broadcast_rate is not None and message.broadcast_id is not None

    async def _send_one(self, message: OutboxMessage) -> str:
        await self.wait_turn(message.chat_id, paid=self._is_paid(message))
        if self._lease_running_out(message) and not await self._still_ours(message):
            return "lost"
        try:
            await self._dispatch(message)
        except RetryAfter as pause:
            self.stats.rate_limited += 1
            await self.turns.pause(pause.seconds)
            await self._record(
                retry_later,
                message_id=id_of(message),
                count_attempt=False,
                error=str(pause),
                not_before=self.clock() + timedelta(seconds=pause.seconds),
            )
            return "paused"
        except RecipientUnreachable as error:
            if not is_private_chat(message.chat_id):
                await self._group_refused(message, self.redact(str(error)))
                return "retry"
            await self._unreachable(message, self.redact(str(error)))
            return "unreachable"
        except Exception as error:  # network errors, 5xx, anything else: retry with backoff
            await self._failed_attempt(message, self.redact(f"{type(error).__name__}: {error}"))
            return "retry"
        await self._record(mark_sent, message_id=id_of(message), now=self.clock())
        self.stats.sent += 1
        if self._refusals.pop(message.chat_id, None):
            log.warning("chat %s accepts the bot's messages again", message.chat_id)
        return "sent"

    async def _dispatch(self, message: OutboxMessage) -> None:
        if message.action == "card":
            if self.cards is not None:
                await self.cards.deliver(message)
            return
        thread_id = reply_to = None
        if message.ticket_id is not None and self.cards is not None:
            thread_id, reply_to = await self.cards.place_of(message.ticket_id)
        buttons = buttons_from_json(message.buttons)
        try:
            if message.photo_sha256 and self.cards is not None:
                photo = await self.cards.evidence.load(message.photo_sha256)
                await self.messenger.send_card(
                    message.chat_id, thread_id=thread_id, photo=photo, text=message.text, buttons=buttons
                )
            elif self._is_paid(message):
                await self.messenger.send(
                    message.chat_id, message.text, buttons, parse_mode=message.parse_mode, paid_broadcast=True
                )
            else:
                await self.messenger.send(
                    message.chat_id,
                    message.text,
                    buttons,
                    thread_id=thread_id,
                    reply_to=reply_to,
                    parse_mode=message.parse_mode,
                )
        except ThreadGone:
            assert self.cards is not None and message.ticket_id is not None  # only a card's topic goes
            await self.cards.topic_lost(message.ticket_id)
            raise

    def _lease_running_out(self, message: OutboxMessage) -> bool:
        """Less than half the lease left: the turn came late (a 429 pause, a busy chat), check the row."""
        assert message.lease_until is not None  # set by the claim
        return self.clock() >= message.lease_until - self.policy.lease / 2

    async def _still_ours(self, message: OutboxMessage) -> bool:
        """Renew the row's lease if this worker still holds it; False if it ran out and another took it.

        A turn can come late (a 429 pause, a busy chat): past the lease another instance may have claimed
        the row, and only the claim whose lease is still on the row may send it.
        """
        assert message.lease_until is not None  # set by the claim
        async with self.db.transaction() as session:
            renewed = await renew_lease(
                session, message_id=id_of(message), held_until=message.lease_until,
                until=self.clock() + self.policy.lease,
            )
        if renewed is None:
            log.info("outbox message %s was taken over by another sender after its lease ran out", message.id)
            return False
        message.lease_until = renewed
        return True

    async def _record(
        self,
        action: Callable[Concatenate[AsyncSession, Params], Awaitable[object]],
        *args: Params.args,
        **values: Params.kwargs,
    ) -> None:
        async with self.db.transaction() as session:
            await action(session, *args, **values)

    async def _release(self, messages: list[OutboxMessage], reason: str) -> None:
        for message in messages:
            await self._record(
                retry_later,
                message_id=id_of(message),
                count_attempt=False,
                error=reason,
                not_before=self.clock(),
            )

    async def _failed_attempt(self, message: OutboxMessage, error: str) -> None:
        if message.attempts >= self.policy.max_attempts:
            self.stats.failed += 1
            log.warning("outbox message %s failed for good: %s", message.id, error)
            await self._record(mark_failed, message_id=id_of(message), error=error)
            return
        self.stats.retried += 1
        backoff = self.policy.base_backoff * (2 ** (message.attempts - 1))
        await self._record(
            retry_later, message_id=id_of(message), error=error, not_before=self.clock() + backoff
        )

    async def _unreachable(self, message: OutboxMessage, error: str) -> None:
        async with self.db.transaction() as session:
            dropped = await drop_pending_for_chat(
                session, chat_id=message.chat_id, reason=f"the user blocked the bot: {error}"
            )
            await set_reachable(session, user_id=message.chat_id, reachable=False)
        self.stats.dropped += dropped

    async def _group_refused(self, message: OutboxMessage, error: str) -> None:
        """A group refuses the bot (e.g. it was removed): keep every message, retry later, alert once."""
        refusals = self._refusals[message.chat_id] = self._refusals.get(message.chat_id, 0) + 1
        if refusals == 1:
            log.error(
                "the bot may not post in chat %s (%s); its messages are kept and retried until it "
                "can. Add the bot back to the group (as an admin).", message.chat_id, error,
            )
        doublings = min(max(refusals, message.attempts) - 1, 20)
        backoff = min(self.policy.base_backoff * 2**doublings, self.policy.max_group_backoff)
        not_before = self.clock() + backoff
        self.stats.retried += 1
        async with self.db.transaction() as session:
            await retry_later(session, message_id=id_of(message), not_before=not_before,
                              error=f"the bot may not post in this chat: {error}")
            await postpone_pending_for_chat(session, chat_id=message.chat_id, not_before=not_before)


def is_private_chat(chat_id: int) -> bool:
    """A person's private chat (its id is the user's, positive); groups and channels have negative ids."""
    return chat_id > 0
