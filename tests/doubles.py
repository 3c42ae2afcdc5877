"""Stand-ins shared by the test layers: a clock moved by hand."""

from datetime import datetime


class Clock:
    """The Clock port; tests move `now` by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
