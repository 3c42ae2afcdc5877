"""Durations, quiet hours, business days and when the next update is due."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.durations import (
    Eta,
    QuietHours,
    parse_duration,
    parse_intervals,
    parse_refund_time,
    parse_refund_times,
)
from handlers.refunds.status_schedule import UpdateSchedule

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)), ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)), (" 1w ", timedelta(weeks=1)), ("off", None), ("", None)])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5", "5x", "-1d", "1d2h", "soon"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_intervals_must_be_positive():
    assert parse_intervals("1d,2d,4d,7d")[-1] == timedelta(days=7)
    with pytest.raises(ValueError):
        parse_intervals("1d,off")


def test_business_days_skip_weekends():
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
    assert Eta.parse("1bd").landing_after(friday, SHANGHAI) == datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
    assert Eta.parse("10bd").landing_after(friday, SHANGHAI).date().isoformat() == "2026-12-11"
    assert Eta.parse("5m").landing_after(friday, SHANGHAI) == friday + timedelta(minutes=5)
    assert set(parse_refund_times("wallet=5m,card=10bd")) == {"wallet", "card"}


@pytest.mark.parametrize(("utc_hour", "expected_local"), [
    (15, datetime(2026, 11, 27, 8, 0)),   # 23:00 local → next morning
    (20, datetime(2026, 11, 27, 8, 0)),   # 04:00 local → same morning
    (2, datetime(2026, 11, 26, 10, 0)),   # 10:00 local: not quiet
    (14, datetime(2026, 11, 27, 8, 0)),   # 22:00 sharp is quiet
    (0, datetime(2026, 11, 26, 8, 0)),    # 08:00 sharp is not
])
def test_quiet_hours_shift_to_the_morning(utc_hour, expected_local):
    quiet = QuietHours.parse("22:00-08:00")
    moment = datetime(2026, 11, 26, utc_hour, 0, tzinfo=UTC)
    assert quiet.shift(moment, SHANGHAI) == expected_local.replace(tzinfo=SHANGHAI)


def test_daytime_quiet_hours_and_off():
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch.contains(datetime(2026, 1, 1, 12, 45).time())
    assert not lunch.contains(datetime(2026, 1, 1, 13, 30).time())
    assert QuietHours.parse("off") is None
    with pytest.raises(ValueError):
        QuietHours.parse("10-12")


def test_the_last_interval_repeats_and_quiet_hours_apply():
    schedule = UpdateSchedule(parse_intervals("1d,2d"), QuietHours.parse("22:00-08:00"), SHANGHAI,
                              timedelta(days=2))
    now = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 22:30 local
    assert schedule.next_update(now=now, updates_sent=0) == datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI)
    assert schedule.next_update(now=now, updates_sent=5) == datetime(2026, 11, 29, 8, 0, tzinfo=SHANGHAI)
    expected = datetime(2026, 11, 20, tzinfo=UTC)
    assert not schedule.is_overdue(now=expected + timedelta(days=2), expected_landing=expected)
    assert schedule.is_overdue(now=expected + timedelta(days=2, seconds=1), expected_landing=expected)


def test_refund_time_is_one_value_or_per_method():
    assert parse_refund_time("10bd") == (Eta(business_days=10), {})
    default, by_method = parse_refund_time("wallet=5m,card=10bd")
    assert default == Eta(business_days=10) and by_method["wallet"] == Eta(duration=timedelta(minutes=5))
    default, _ = parse_refund_time("wallet=5m,default=3bd")
    assert default == Eta(business_days=3)
    with pytest.raises(ValueError):
        parse_refund_time("wallet=")
