"""The sending gate shared by every instance of the bot, in Redis (RATE_LIMIT_URL).

Turns come from one schedule kept in Redis, on Redis's own clock, taken by a Lua script (atomic): the bot's
next free slot (`1 / rate` apart), each chat's next free slot, and the 429 `pause until` any instance sets.
Redis unreachable: this process falls back to its own gate (with a warning) and tries Redis again later.
"""

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handlers.delivery.pacing import LocalGate

log = logging.getLogger(__name__)
RETRY_REDIS_AFTER = 5.0  # seconds on the local gate before Redis is tried again

# KEYS: slot, chat, pause. ARGV: period µs, chat interval µs.
# Returns {0, wait µs} when paused or the chat is not due yet (nothing taken), {1, delay µs} for a turn taken.
TAKE_TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period, chat_interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {0, string.format('%.0f', paused - now)} end
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
if chat_next > now then return {0, string.format('%.0f', chat_next - now)} end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end  -- turns are taken ahead of time: no catching up
local keep = math.ceil((slot - now + period) / 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.0f', slot + period), 'PX', keep)
redis.call('SET', KEYS[2], string.format('%.0f', slot + chat_interval), 'PX',
           math.ceil((slot - now + chat_interval) / 1000) + 1000)
return {1, string.format('%.0f', slot - now)}
"""

# KEYS: pause. ARGV: pause µs. Extends the pause, never shortens it; returns the µs left.
PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untill = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if untill > paused then
  redis.call('SET', KEYS[1], string.format('%.0f', untill), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
  paused = untill
end
return string.format('%.0f', paused - now)
"""

PAUSED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then return string.format('%.0f', paused - now) end
return '0'
"""


class RedisGate:
    """Turns for every instance of one bot: global rate, per-chat spacing and 429 pauses, in Redis."""

    def __init__(
        self,
        url: str,
        *,
        rate_per_second: float,
        per_chat_interval: float,
        paid_rate: float | None = None,
        prefix: str = "refund-bot:rate",
    ):
        self.redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.period_us = round(1_000_000 / rate_per_second)
        self.paid_period_us = round(1_000_000 / paid_rate) if paid_rate else self.period_us
        self.chat_interval_us = round(per_chat_interval * 1_000_000)
        self.prefix = prefix
        self.fallback = LocalGate(rate_per_second, per_chat_interval, paid_rate)
        self._take = self.redis.register_script(TAKE_TURN)
        self._pause = self.redis.register_script(PAUSE)
        self._paused_for = self.redis.register_script(PAUSED_FOR)
        self._local_until = 0.0  # Redis failed: the local gate until then

    @property
    def _pause_key(self) -> str:
        return f"{self.prefix}:pause"

    async def wait_turn(self, chat_id: int, *, paid: bool = False) -> None:
        """Take the next shared turn for `chat_id` and wait for it (the local gate while Redis is down)."""
        slot = f"{self.prefix}:{'paid' if paid else 'slot'}"
        keys = [slot, f"{self.prefix}:chat:{chat_id}", self._pause_key]
        period = self.paid_period_us if paid else self.period_us
        while True:
            if self._on_fallback():
                await self.fallback.wait_turn(chat_id, paid=paid)
                return
            try:
                taken, micros = await self._take(keys=keys, args=[period, self.chat_interval_us])
            except (RedisError, OSError) as error:
                self._redis_failed(error)
                continue
            await asyncio.sleep(int(micros) / 1_000_000)
            if int(taken) and await self.paused_for() <= 0:  # a 429 may have come while we waited
                return

    async def pause(self, seconds: float) -> None:
        """Pause every instance for `seconds` (and this process's own gate, in case Redis goes)."""
        await self.fallback.pause(seconds)
        if self._on_fallback():
            return
        try:
            await self._pause(keys=[self._pause_key], args=[round(seconds * 1_000_000)])
        except (RedisError, OSError) as error:
            self._redis_failed(error)

    async def paused_for(self) -> float:
        """Seconds left of the shared pause (the local one while Redis is down)."""
        if not self._on_fallback():
            try:
                return int(await self._paused_for(keys=[self._pause_key])) / 1_000_000
            except (RedisError, OSError) as error:
                self._redis_failed(error)
        return await self.fallback.paused_for()

    async def close(self) -> None:
        """Close the connections."""
        await self.redis.aclose()

    def _on_fallback(self) -> bool:
        if not self._local_until:
            return False
        if time.monotonic() < self._local_until:
            return True
        self._local_until = 0.0
        log.warning("trying the shared rate limit in Redis again")
        return False

    def _redis_failed(self, error: Exception) -> None:
        log.warning(
            "the shared rate limit in Redis is unreachable (%s): pacing this process alone for %.0f s; "
            "with several instances the bot may exceed Telegram's limit meanwhile",
            type(error).__name__, RETRY_REDIS_AFTER,
        )
        self._local_until = time.monotonic() + RETRY_REDIS_AFTER
