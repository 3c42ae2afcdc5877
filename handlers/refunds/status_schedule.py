"""When the next status update is due."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.durations import QuietHours


@dataclass(frozen=True)
class UpdateSchedule:
    """Intervals between updates (the last repeats) and the payer's quiet hours."""

    intervals: tuple[timedelta, ...]
    quiet_hours: QuietHours | None
    zone: ZoneInfo
    overdue_grace: timedelta

    def next_update(self, *, now: datetime, updates_sent: int) -> datetime:
        """After `updates_sent` updates, when the next one is due (moved out of quiet hours)."""
        interval = self.intervals[min(updates_sent, len(self.intervals) - 1)]
        due = now + interval
        return self.quiet_hours.shift(due, self.zone) if self.quiet_hours else due

    def is_overdue(self, *, now: datetime, expected_landing: datetime | None) -> bool:
        """Past the expected landing plus the grace period."""
        return expected_landing is not None and now > expected_landing + self.overdue_grace
