"""Stopping the scheduler lets a tick in progress finish before the database closes."""

import asyncio
from datetime import UTC, datetime, timedelta

from bot.scheduler import Ticker


class SlowDelivery:
    """A delivery worker whose drain waits until the test lets it finish."""

    cards = None

    def __init__(self) -> None:
        self.started, self.release, self.finished = asyncio.Event(), asyncio.Event(), False

    async def drain(self) -> int:
        self.started.set()
        await self.release.wait()
        self.finished = True
        return 0


class NoFollowUps:
    async def sweep(self) -> int:
        return 0


async def ticking_until_delivery_starts(delivery: SlowDelivery) -> Ticker:
    """A started ticker whose outbox drain is under way (and waiting for the test)."""
    ticker = Ticker(NoFollowUps(), delivery, timedelta(hours=1))
    ticker.start()
    ticker.scheduler.modify_job("deliver_outbox", next_run_time=datetime.now(UTC))  # now, not in a second
    await asyncio.wait_for(delivery.started.wait(), 5)
    return ticker


async def test_stop_waits_for_the_tick_in_progress():
    delivery = SlowDelivery()
    ticker = await ticking_until_delivery_starts(delivery)

    stopping = asyncio.create_task(ticker.stop(timeout=5))
    await asyncio.sleep(0)
    assert not stopping.done() and not delivery.finished
    delivery.release.set()

    assert await stopping is True and delivery.finished


async def test_stop_gives_up_after_its_timeout():
    delivery = SlowDelivery()
    ticker = await ticking_until_delivery_starts(delivery)

    assert await ticker.stop(timeout=0.05) is False
    delivery.release.set()
