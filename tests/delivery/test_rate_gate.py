"""The Redis gate on the machine's Redis: one schedule and one pause for every instance; Redis gone: local."""

import asyncio
import logging
import time

from bot.rate_redis import RedisGate
from tests.delivery.conftest import PER_CHAT, RATE


async def test_instances_take_turns_from_one_schedule(gates):
    first, second = gates(), gates()
    started = time.monotonic()
    await asyncio.gather(*(gate.wait_turn(1000 + n) for n in range(20) for gate in (first, second)))
    assert time.monotonic() - started >= 39 / RATE - 0.05  # 40 turns, 1/RATE apart, whichever instance


async def test_a_chat_waits_its_spacing_across_instances(gates):
    first, second = gates(), gates()
    await first.wait_turn(42)
    started = time.monotonic()
    await second.wait_turn(42)
    assert time.monotonic() - started >= PER_CHAT - 0.05


async def test_a_pause_set_by_one_instance_holds_the_others(gates):
    first, second = gates(), gates()
    await first.pause(0.6)
    assert 0.4 < await second.paused_for() <= 0.6
    started = time.monotonic()
    await second.wait_turn(7)
    assert time.monotonic() - started >= 0.5


async def test_without_redis_the_process_paces_itself_and_keeps_sending(caplog):
    gate = RedisGate("redis://127.0.0.1:1/0", rate_per_second=RATE, per_chat_interval=PER_CHAT)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.rate_redis"):
            started = time.monotonic()
            for n in range(5):
                await gate.wait_turn(n)
            await gate.pause(0.3)
            assert await gate.paused_for() > 0.2
            await gate.wait_turn(99)
        assert time.monotonic() - started >= 4 / RATE + 0.25
        assert any("unreachable" in record.message for record in caplog.records)
    finally:
        await gate.close()
