"""The pacer: turns on a fixed schedule, no time lost to late wake-ups, no burst after a pause."""

import asyncio

import pytest

from handlers.delivery import pacing
from handlers.delivery.pacing import Pacer


class FakeTime:
    """A clock that only moves when someone sleeps (or is moved by hand)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeTime:
    fake = FakeTime()

    async def sleep(seconds: float) -> None:
        fake.now += seconds
        fake.now += 0.002  # every wake-up comes 2 ms late, as on a busy event loop

    monkeypatch.setattr(pacing.asyncio, "sleep", sleep)
    return fake


async def test_turns_keep_their_schedule_however_late_each_wake_up_is(clock):
    pacer = Pacer(100, monotonic=clock)  # a turn every 10 ms
    start = clock.now
    for _ in range(100):
        await pacer.acquire()
    # 100 turns take 99 periods (plus the last wake-up's lateness), not 100 × (10 + 2) ms
    assert clock.now - start == pytest.approx(0.99 + 0.002 * 2, abs=0.003)


async def test_concurrent_callers_get_consecutive_slots(clock, monkeypatch):
    pacer = Pacer(50, monotonic=clock)
    waits = []

    async def recording(seconds: float) -> None:  # all five ask at the same moment
        waits.append(round(seconds, 6))

    monkeypatch.setattr(pacing.asyncio, "sleep", recording)
    await asyncio.gather(*(pacer.acquire() for _ in range(5)))
    assert waits == [0.02, 0.04, 0.06, 0.08]  # the first goes at once, the others one slot apart each


async def test_after_a_pause_the_schedule_starts_afresh_without_a_burst(clock):
    pacer = Pacer(10, monotonic=clock)
    await pacer.acquire()
    clock.now += 5  # idle for five seconds
    before = clock.now
    await pacer.acquire()
    await pacer.acquire()
    assert clock.now - before >= 0.1  # the second turn after the pause still waits its slot
