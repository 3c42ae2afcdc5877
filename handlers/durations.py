"""Durations, schedules and quiet hours as operators write them: 30s, 5m, 2h, 1d, 10bd, 22:00-08:00."""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
BUSINESS_DAYS = re.compile(r"^\s*(\d+)\s*bd\s*$")
OFF = {"", "off", "none", "0", "false", "no"}


def parse_duration(text: str) -> timedelta | None:
    """`30s`, `5m`, `2h`, `1d`, `1w`; None for `off`."""
    if text.strip().lower() in OFF:
        return None
    match = DURATION.match(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 2h or 1d (or off)")
    return timedelta(**{UNITS[match[2]]: float(match[1])})


def parse_intervals(text: str) -> tuple[timedelta, ...]:
    """A comma-separated list of durations, e.g. `1d,2d,4d,7d`."""
    parsed = [parse_duration(part) for part in text.split(",")]
    intervals = tuple(i for i in parsed if i is not None and i > timedelta(0))
    if not intervals or len(intervals) != len(parsed):
        raise ValueError(f"{text!r} must list positive durations, e.g. 1d,2d,4d,7d")
    return intervals


@dataclass(frozen=True)
class Eta:
    """How long a refund takes to land: a duration, or a number of business days."""

    duration: timedelta | None = None
    business_days: int = 0

    @classmethod
    def parse(cls, text: str) -> "Eta":
        """`10m` or `10bd`."""
        match = BUSINESS_DAYS.match(text.lower())
        if match:
            return cls(business_days=int(match[1]))
        duration = parse_duration(text)
        if duration is None:
            raise ValueError(f"{text!r} is not a refund time like 5m or 10bd")
        return cls(duration=duration)

    def landing_after(self, start: datetime, zone: ZoneInfo) -> datetime:
        """When a refund started at `start` is expected to have landed."""
        if self.duration is not None:
            return start + self.duration
        local, left = start.astimezone(zone), self.business_days
        while left:
            local += timedelta(days=1)
            if local.weekday() < 5:
                left -= 1
        return local


def parse_refund_times(text: str) -> dict[str, Eta]:
    """`wallet=5m,card=10bd`: the typical landing time per payment method."""
    times = {}
    for part in text.split(","):
        method, _, value = part.partition("=")
        if not method.strip() or not value:
            raise ValueError(f"{text!r} must look like wallet=5m,card=10bd")
        times[method.strip().lower()] = Eta.parse(value)
    return times


def parse_refund_time(text: str) -> tuple[Eta, dict[str, Eta]]:
    """REFUND_TIME: one time for all (`10bd`), or per method with a default (`wallet=5m,card=10bd`)."""
    if "=" not in text:
        return Eta.parse(text), {}
    times = parse_refund_times(text)
    default = times.pop("default", None) or times.get("card") or next(iter(times.values()))
    return default, times


@dataclass(frozen=True)
class QuietHours:
    """No scheduled messages between `start` and `end` (local time; may wrap past midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "QuietHours | None":
        """`22:00-08:00`, or None for `off`."""
        if text.strip().lower() in OFF:
            return None
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not match:
            raise ValueError(f"{text!r} is not a range like 22:00-08:00 (or off)")
        start, end = time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls in the quiet hours."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def shift(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The moment itself, or the end of the quiet hours it falls in."""
        local = moment.astimezone(zone)
        if not self.contains(local.time()):
            return moment
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end
