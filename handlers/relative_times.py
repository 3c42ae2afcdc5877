"""How long ago a payer says they paid: "just now", "2 hours ago", "an hour and a half ago", "半小时前"."""

import re
from datetime import timedelta

JUST_NOW = {
    "now", "just now", "right now", "just", "a moment ago", "moments ago", "just a moment ago",
    "a second ago", "a few seconds ago", "seconds ago", "刚才", "刚刚", "刚", "方才", "就刚才",
    "刚刚才", "现在", "就在刚才",
}
EN_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
             "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
             "a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 3,
             "half an": 0.5, "half a": 0.5}
UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
         "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
         "d": 86400, "day": 86400, "days": 86400, "week": 604800, "weeks": 604800,
         "秒": 1, "秒钟": 1, "分": 60, "分钟": 60, "小时": 3600, "钟头": 3600, "天": 86400,
         "日": 86400, "周": 604800, "星期": 604800, "礼拜": 604800}
_EN_COUNT = "|".join(sorted(map(re.escape, EN_COUNTS), key=len, reverse=True))
EN_PIECE = re.compile(
    rf"(?P<count>\d{{1,3}}(?:\.\d{{1,2}})?|{_EN_COUNT})\s*"
    r"(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|[smhd])(?![a-z])"
    r"(?P<half>\s+and\s+a\s+half)?"
)
EN_AGO = re.compile(rf"(?:{EN_PIECE.pattern}\s*(?:,|and)?\s*){{1,3}}ago")
ZH_PIECE = re.compile(
    r"(?P<count>\d{1,3}(?:\.\d{1,2})?|半|几)\s*个?\s*(?P<half>半)?\s*"
    r"(?P<unit>秒钟?|分钟?|小时|钟头|天|日|周|星期|礼拜)(?P<half_after>半)?"
)
ZH_AGO = re.compile(rf"(?:{ZH_PIECE.pattern}\s*){{1,3}}(?:之|以)?前")


def _seconds_of(piece: re.Match[str]) -> float:
    count = piece["count"]
    if count in EN_COUNTS:
        number = EN_COUNTS[count]
    elif count == "半":
        number = 0.5
    elif count == "几":
        number = 3
    else:
        number = float(count)
    if piece["half"] or piece.groupdict().get("half_after"):
        number += 0.5
    return number * UNITS[piece["unit"]]


def how_long_ago(text: str) -> timedelta | None:
    """The time since the payment, when the whole text says only that; None otherwise."""
    if text in JUST_NOW:
        return timedelta(0)
    for whole, piece in ((EN_AGO, EN_PIECE), (ZH_AGO, ZH_PIECE)):
        if whole.fullmatch(text):
            seconds = sum(_seconds_of(p) for p in piece.finditer(text))
            if seconds > 400 * 86400:
                raise ValueError("too far back to be a payment time")
            return timedelta(seconds=seconds)
    return None
