"""The live feed over real HTTP refuses charge times no payment could have, before storing anything."""

import pytest

from tests.providers.test_payment_feed import event, feed  # noqa: F401 (the fixture)


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00",
                                    "0001-01-01T00:00:00+00:00", "2026-11-27T08:00:01Z"])
async def test_a_charge_time_far_from_the_request_is_a_bad_request(feed, moment):  # noqa: F811
    status, answer = await feed.post({"events": [event("tx-1"), event("tx-2", created_at=moment)]})
    assert status == 400 and answer["problems"][0]["index"] == 1
    assert "created_at" in answer["problems"][0]["error"]
    assert await feed.charges() == {} and feed.watched.arrived == []


async def test_a_charge_a_day_ahead_with_a_far_offset_is_still_taken(feed):  # noqa: F811
    status, answer = await feed.post(event(created_at="2026-11-27T22:00:00+14:00"))  # 08:00 UTC, a day on
    assert status == 200 and answer["stored"] == 1
