"""A 429 on one instance's direct reply pauses every instance sharing RATE_LIMIT_URL (real Redis)."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.rate_redis import RedisGate
from tests.e2e.conftest import TOKEN
from tests.e2e.test_bad_inputs import at_step
from tests.e2e.test_secrets import wait_until

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, emptied around the test


@pytest.fixture
async def shared_redis() -> AsyncIterator[str]:
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    yield REDIS_URL
    await redis.flushdb()
    await redis.aclose()


async def test_a_429_on_a_direct_reply_pauses_the_other_instances(harness, payer, client, shared_redis):
    await harness.stop()
    harness.overrides.update(rate_limit_url=shared_redis)
    await harness.start()
    bot_id = TOKEN.partition(":")[0]
    other_instance = RedisGate(shared_redis, rate_per_second=30, per_chat_interval=1,
                               prefix=f"refund-bot:{bot_id}:rate")
    try:
        await at_step(payer, "order")
        await client.inject_fault("sendMessage", error_code=429, retry_after=2, chat_id=payer.id)
        sent = await client.send_text(payer.id, "A1")

        async def paused_elsewhere() -> bool:
            return await other_instance.paused_for() > 0

        await wait_until(paused_elsewhere)  # the other instance's outbox now waits too
        [reply] = await client.wait_for_bot_messages(payer.id, after_message_id=sent["message"]["message_id"],
                                                     timeout=15)
        assert "Order number: A1." in reply["text"]  # the reply itself waited the 429 out and went once
    finally:
        await other_instance.close()
