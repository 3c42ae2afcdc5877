"""Payment times as people type them: receipt stamps, chat (昨晚8点半, last night at 8:30), "2 hours ago"."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from handlers.chinese_numerals import with_arabic_digits
from handlers.relative_times import EN_COUNTS, how_long_ago

CLOCK_SKEW = timedelta(minutes=5)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TypedTime:
    """A moment the payer named; `day_only` when they named a day without a clock time."""

    moment: datetime
    day_only: bool


class AmbiguousDate(ValueError):
    """A date like 5/11 that is plausible both day-first and month-first."""

    def __init__(self, first: date, second: date):
        super().__init__(f"{first} or {second}")
        self.first, self.second = first, second


# --- components of an absolute time --------------------------------------------------------


@dataclass
class Parts:
    """What the text said, piece by piece."""

    day: date | None = None
    day_candidates: tuple[date, ...] = ()
    part: str | None = None
    hour: int | None = None
    minute: int = 0
    second: int = 0
    meridiem: str | None = None
    twelve_hour: bool = False  # 两点 / at 2: without 上午/下午 or am/pm it may be 2:00 or 14:00
    zone: tzinfo | None = None


MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
          "oct": 10, "nov": 11, "dec": 12}
MONTH_NAME = (r"(?P<mon>january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|"
              r"september|sept|sep|october|oct|november|nov|december|dec)\b\.?")
WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
WEEKDAY_NAME = (r"(?P<en>monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|"
                r"saturday|sat|sunday|sun)\b")
# Words for a day, some with a part of it: (days back, part of day).
DAY_WORDS = {
    "大前天": (3, None), "前天": (2, None), "昨天": (1, None), "昨日": (1, None), "昨儿个": (1, None),
    "昨儿": (1, None), "今天": (0, None), "今日": (0, None), "今儿个": (0, None), "今儿": (0, None),
    "今早": (0, "morning"), "今晨": (0, "morning"), "今晚": (0, "evening"), "今夜": (0, "evening"),
    "昨早": (1, "morning"), "昨晨": (1, "morning"), "昨晚": (1, "evening"), "昨夜": (1, "evening"),
    "前晚": (2, "evening"), "前夜": (2, "evening"),
    "the day before yesterday": (2, None), "day before yesterday": (2, None), "yesterday": (1, None),
    "earlier today": (0, None), "today": (0, None), "tonight": (0, "evening"), "last night": (1, "evening"),
    "this morning": (0, "morning"), "this afternoon": (0, "afternoon"), "this evening": (0, "evening"),
    # Days ahead are read too, so that the payer hears "that is in the future", not "unreadable".
    "明天": (-1, None), "明早": (-1, "morning"), "明晚": (-1, "evening"), "后天": (-2, None),
    "tomorrow": (-1, None),
}
PARTS = {
    "凌晨": "small_hours", "半夜": "evening", "深夜": "evening", "午夜": "midnight", "早上": "morning",
    "早晨": "morning", "清晨": "morning", "上午": "morning", "中午": "noon",
    "正午": "noon", "午后": "afternoon", "下午": "afternoon", "傍晚": "evening", "晚上": "evening",
    "晚间": "evening", "夜里": "evening", "夜间": "evening", "早": "morning", "晚": "evening",
    "夜": "evening", "in the morning": "morning", "morning": "morning", "in the afternoon": "afternoon",
    "afternoon": "afternoon", "in the evening": "evening", "evening": "evening", "at night": "evening",
    "night": "evening", "noon": "noon_time", "midday": "noon_time", "midnight": "midnight",
}
MERIDIEM = r"(?P<mer>[ap])\.?\s?m\b\.?"
FILLERS_EN = re.compile(
    r"\b(?:i|we|paid|pay|payed|payment|made|was|it|at|on|around|about|approx|approximately|roughly|"
    r"like|ish|maybe|probably|the|of|time|in|o'?clock|local|or so)\b"
)
FILLERS_ZH = re.compile(
    r"大概|大约|约莫|约|左右|差不多|的时候|时候|那会儿|那会|付的款|付的钱|付的|付款|付了|支付的|支付|"
    r"付|买的|下的单|下单|我是|我|是|在|的|吧|了|呀|啊|多|本月|这个月|这月"
)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _between_digits(text: str) -> str:
    """Punctuation as spaces, but a dot between digits stays (25.11.2026, 8.30pm); ISO T and Z split off."""
    text = re.sub(r"(?<=\d)t(?=\d)", " ", text)  # 2026-11-25T14:30
    text = re.sub(r"(?<=\d)z\b", " utc", text)
    text = re.sub(r"[,，、。!！?？~～()（）\[\]【】]", " ", text)
    return re.sub(r"\.(?!\d)|(?<!\d)\.", " ", text)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _most_recent(month: int, day: int, today: date) -> date:
    """The latest date with this month and day that is not after today."""
    for year in (today.year, today.year - 1, today.year - 2, today.year - 3, today.year - 4):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise ValueError(f"no such date: {month}/{day}")


def _year(raw: str) -> int:
    return int(raw) + 2000 if len(raw) == 2 else int(raw)


# Each reader takes a match, the Parts so far and today's date, and records what it read.
Reader = Callable[[re.Match[str], Parts, date], None]


def _set_day(parts: Parts, day: date | None = None, candidates: tuple[date, ...] = ()) -> None:
    if parts.day or parts.day_candidates:
        raise LookupError("two days named")
    parts.day, parts.day_candidates = day, candidates


def _read_ymd(m: re.Match[str], parts: Parts, today: date) -> None:
    _set_day(parts, date(int(m["y"]), int(m["m"]), int(m["d"])))


def _pair(a: int, b: int, year: int | None, today: date, *, day_first: bool) -> tuple[date, ...]:
    """Both readings of a/b (day/month and month/day) that exist, the preferred one first."""
    readings = []
    for day, month in ((a, b), (b, a)) if day_first else ((b, a), (a, b)):
        try:
            readings.append(date(year, month, day) if year else _most_recent(month, day, today))
        except ValueError:
            continue
    if not readings:
        raise ValueError("no such date")
    return tuple(dict.fromkeys(readings))


def _read_numeric_with_year(m: re.Match[str], parts: Parts, today: date) -> None:
    year = _year(m["y"])
    if m["sep"] == ".":  # 25.11.2026 is always day first
        _set_day(parts, date(year, int(m["b"]), int(m["a"])))
        return
    _set_day(parts, candidates=_pair(int(m["a"]), int(m["b"]), year, today, day_first=True))


def _read_numeric_without_year(m: re.Match[str], parts: Parts, today: date) -> None:
    if m["sep"] == "-":  # 11-25 and 11-10 are month first, as Chinese apps print them
        _set_day(parts, _pair(int(m["a"]), int(m["b"]), None, today, day_first=False)[0])
        return
    # 25/11 and 11/25 are told apart by the window; 11/10 is asked about.
    _set_day(parts, candidates=_pair(int(m["a"]), int(m["b"]), None, today, day_first=True))


def _read_month_name(m: re.Match[str], parts: Parts, today: date) -> None:
    month, day = MONTHS[m["mon"][:3]], int(m["d"])
    _set_day(parts, date(int(m["y"]), month, day) if m["y"] else _most_recent(month, day, today))


def _read_chinese_month_day(m: re.Match[str], parts: Parts, today: date) -> None:
    month, day = int(m["m"]), int(m["d"])
    _set_day(parts, date(int(m["y"]), month, day) if m["y"] else _most_recent(month, day, today))


def _read_day_of_month(m: re.Match[str], parts: Parts, today: date) -> None:
    day, back = int(m["d"]), 1 if m.groupdict().get("last") else 0
    if back == 0 and day <= today.day:
        _set_day(parts, date(today.year, today.month, day))
        return
    first = today.replace(day=1)
    for _ in range(max(back, 1) + 1):
        first = (first - timedelta(days=1)).replace(day=1)
        try:
            _set_day(parts, first.replace(day=day))
            return
        except ValueError:
            if back:
                raise
    raise ValueError(f"no day {day} in the last months")


def _read_day_word(m: re.Match[str], parts: Parts, today: date) -> None:
    back, part = DAY_WORDS[m.group().strip()]
    _set_day(parts, today - timedelta(days=back))
    if part:
        _set_part(parts, part)


def _read_days_ago(m: re.Match[str], parts: Parts, today: date) -> None:
    count = m["n"]
    _set_day(parts, today - timedelta(days=int(count) if count.isdigit() else EN_COUNTS[count]))


def _read_weekday(m: re.Match[str], parts: Parts, today: date) -> None:
    if m["zh"]:
        weekday = 6 if m["zh"] in "日天" else int(m["zh"]) - 1
        if not 0 <= weekday <= 6:
            raise ValueError("no such weekday")
        monday = today - timedelta(days=today.weekday())
        if m["this"] or m["last_zh"]:
            weeks_back = len(m["last_zh"] or "")
            day = monday - timedelta(weeks=weeks_back) + timedelta(days=weekday)
        else:
            day = today - timedelta(days=(today.weekday() - weekday) % 7)
    else:
        weekday = WEEKDAYS_EN[m["en"][:3]]
        back = (today.weekday() - weekday) % 7
        day = today - timedelta(days=back or (7 if m["last_en"] else 0))
    if parts.day is None and not parts.day_candidates:
        parts.day = day


def _set_part(parts: Parts, part: str) -> None:
    if parts.part and parts.part != part:
        raise LookupError("two parts of the day named")
    parts.part = part


def _set_clock(
    parts: Parts, hour: int, minute: int = 0, second: int = 0, *, twelve_hour: bool = False
) -> None:
    if parts.hour is not None:
        raise LookupError("two clock times named")
    parts.hour, parts.minute, parts.second, parts.twelve_hour = hour, minute, second, twelve_hour


def _read_clock(m: re.Match[str], parts: Parts, today: date) -> None:
    _set_clock(parts, int(m["h"]), int(m["mi"] or 0), int(m["s"] or 0))
    parts.meridiem = m["mer"]
    if m.groupdict().get("off"):
        sign, digits = m["off"][0], m["off"][1:].replace(":", "")
        parts.zone = _fixed_zone(sign, digits[:2], digits[2:])


def _read_chinese_clock(m: re.Match[str], parts: Parts, today: date) -> None:
    minute = 30 if m["half"] else 15 * int(m["q"]) if m["q"] else int(m["mi"] or 0)
    _set_clock(parts, int(m["h"]), minute, int(m["s"] or 0), twelve_hour=not m["h"].startswith("0"))


def _read_bare_hour(m: re.Match[str], parts: Parts, today: date) -> None:
    _set_clock(parts, int(m["h"] or m["h2"]), twelve_hour=True)


def _read_part(m: re.Match[str], parts: Parts, today: date) -> None:
    part = PARTS[m.group().strip()]
    if part == "noon_time":
        _set_clock(parts, 12)
    elif part == "midnight":
        _set_clock(parts, 0)
    else:
        _set_part(parts, part)


def _fixed_zone(sign: str, hours: str, minutes: str) -> tzinfo:
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > timedelta(hours=14):
        raise ValueError("no such UTC offset")
    return timezone(-offset if sign == "-" else offset)


def _read_zone(m: re.Match[str], parts: Parts, today: date) -> None:
    if m["beijing"]:
        parts.zone = SHANGHAI
    else:
        parts.zone = _fixed_zone(m["sign"], m["oh"], m["om"]) if m["sign"] else UTC


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_NOT_DIGIT_BEFORE = r"(?<![\d.:/-])"
# Read in this order, each at most once; what a reader took is blanked out for the next ones.
COMPONENTS: list[tuple[re.Pattern[str], Reader]] = [
    (re.compile(r"(?P<beijing>北京时间|beijing time)|\b(?:utc|gmt)(?:\s*(?P<sign>[+-])\s*"
                        r"(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?(?![a-z])"), _read_zone),
    (re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"
                        r"(?!\d)\s*[日号]?"), _read_ymd),
    (re.compile(_NOT_DIGIT_BEFORE + r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)"
                        r"(?P<y>\d{4}|\d{2})(?![\d:])"), _read_numeric_with_year),
    (re.compile(r"\b" + MONTH_NAME + r"\s*"
                        r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d:])(?:\s*(?P<y>\d{4})(?![\d:]))?"),
     _read_month_name),
    (re.compile(r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?" + MONTH_NAME +
                        r"(?:\s*(?P<y>\d{4})(?![\d:]))?"), _read_month_name),
    (re.compile(r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"),
     _read_chinese_month_day),
    (re.compile(_NOT_DIGIT_BEFORE + r"(?P<a>\d{1,2})(?P<sep>[/-])(?P<b>\d{1,2})(?![\d:./-])"),
     _read_numeric_without_year),
    (re.compile(r"(?P<last>上个?月)?\s*(?<![\d.:])(?P<d>\d{1,2})\s*[号日]"), _read_day_of_month),
    (re.compile(r"(?<![\d.:])(?P<d>\d{1,2})(?:st|nd|rd|th)\b"), _read_day_of_month),
    (re.compile(r"(?<![a-z\d])(?P<n>\d{1,3}|a|one|two|three|four|five|six|seven)\s*"
                        r"(?:days?\s+ago|天(?:之|以)?前)"), _read_days_ago),
    (re.compile(_alternatives(DAY_WORDS)), _read_day_word),
    (re.compile(r"(?P<last_zh>上+)?\s*个?\s*(?P<this>这个?|本)?\s*(?:周|星期|礼拜)"
                           r"(?P<zh>[1-7日天])|\b(?P<last_en>last\s+)?" + WEEKDAY_NAME),
     _read_weekday),
    (re.compile(r"(?<![\d.])(?P<h>\d{1,2})\s*:\s*(?P<mi>\d{2})(?:\s*:\s*(?P<s>\d{2})(?:\.\d{1,6})?)?"
                         rf"(?:\s*{MERIDIEM})?(?:\s*(?P<off>[+-]\d{{2}}:?\d{{2}})(?!\d))?"), _read_clock),
    (re.compile(rf"(?<![\d.:])(?P<h>\d{{1,2}})(?:\.(?P<mi>\d{{2}}))?(?P<s>)\s*{MERIDIEM}"),
     _read_clock),
    (re.compile(r"(?<![\d.])(?P<h>\d{1,2})\s*[点时](?:\s*钟)?(?:\s*(?:(?P<half>半)|(?P<q>[1-3])\s*刻"
                         r"|(?P<mi>\d{1,2})(?!\s*[号日月天])(?:\s*分)?(?:\s*(?P<s>\d{1,2})\s*秒)?))?"),
     _read_chinese_clock),
    (re.compile(r"\b(?:at|around|about|by)\s+(?P<h>\d{1,2})(?![\d:.])(?!\s*(?:st|nd|rd|th)\b)|"
                         r"(?<![\d.:])(?P<h2>\d{1,2})\s*o'?clock"), _read_bare_hour),
    (re.compile(_alternatives(PARTS)), _read_part),
]


def _components(text: str, today: date) -> Parts | None:
    parts = Parts()
    for pattern, reader in COMPONENTS:
        found = pattern.search(text)
        if not found:
            continue
        try:
            reader(found, parts, today)
        except LookupError:
            return None
        text = f"{text[:found.start()]} {text[found.end():]}"
    leftover = FILLERS_ZH.sub(" ", FILLERS_EN.sub(" ", text))
    if leftover.strip(" :/-"):
        return None
    return parts


# --- turning the parts into a moment -------------------------------------------------------


def _hour_on_the_clock(hour: int, parts: Parts) -> tuple[list[int], int]:
    """The possible 24-hour readings of the hour, and days to add (晚上12点 is the next midnight)."""
    part = parts.part
    if parts.meridiem:
        if not 1 <= hour <= 12:
            raise ValueError("am/pm needs an hour from 1 to 12")
        hour = hour % 12 + (12 if parts.meridiem == "p" else 0)
        return [hour], 1 if part == "evening" and hour < 5 else 0
    if hour > 23:
        raise ValueError("no such hour")
    if part is None:
        if parts.twelve_hour and 1 <= hour <= 12:
            return [hour % 12, hour % 12 + 12], 0
        return [hour], 0
    if hour > 12:
        if part in ("morning", "small_hours"):
            raise ValueError("an afternoon hour in the morning")
        return [hour], 0
    match part:
        case "small_hours":
            return [hour % 12], 0
        case "morning":
            return [hour], 0
        case "noon":
            return [hour + 12 if 1 <= hour <= 5 else hour], 0
        case "afternoon":
            return [hour % 12 + 12], 0
        case _:  # evening and night: 8 is 20:00, 12 the next midnight, 1–4 the small hours after
            if hour == 12:
                return [0], 1
            return ([hour + 12], 0) if hour >= 5 else ([hour], 1)


def _pick_day(parts: Parts, today: date, window_days: int) -> date | None:
    if not parts.day_candidates:
        return parts.day
    plausible = [d for d in parts.day_candidates if today - timedelta(days=window_days) <= d <= today]
    if len(plausible) == 2:
        raise AmbiguousDate(*plausible)
    return (plausible or list(parts.day_candidates))[0]


def _assemble(parts: Parts, now: datetime, zone: ZoneInfo, window_days: int) -> TypedTime | None:
    today = now.astimezone(zone).date()
    day = _pick_day(parts, today, window_days)
    if parts.hour is None:
        if day is None and parts.part is None:
            return None
        return TypedTime(_midnight(day or today, zone), True)
    if parts.minute > 59 or parts.second > 59:
        raise ValueError("no such minute")
    hours, days_after = _hour_on_the_clock(parts.hour, parts)
    clock_zone = parts.zone or zone
    if day is not None:  # 昨天两点 is 14:00, 昨天八点 8:00, 昨天十二点 noon
        hour = hours[-1] if len(hours) == 2 and hours[0] <= 6 else hours[0]
        return TypedTime(_at(day + timedelta(days=days_after), hour, parts, clock_zone), False)
    # No day named: the most recent such time that has already passed.
    candidates = [_at(today - timedelta(days=back) + timedelta(days=days_after), hour, parts, clock_zone)
                  for back in (0, 1, 2) for hour in hours]
    past = [c for c in candidates if c <= now + CLOCK_SKEW]
    return TypedTime(max(past) if past else min(candidates), False)


def _at(day: date, hour: int, parts: Parts, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, parts.minute, parts.second, tzinfo=zone)


def read_typed_time(text: str, *, now: datetime, zone: ZoneInfo, window_days: int) -> TypedTime | None:
    """A time in one of the forms people type, read in `zone`; None when the form is not known here.

    ValueError (AmbiguousDate among them) when the form is known but names no single real time.
    """
    text = _collapse(_between_digits(with_arabic_digits(text.lower())))
    local_now = now.astimezone(zone)
    since = how_long_ago(_collapse(FILLERS_ZH.sub(" ", FILLERS_EN.sub(" ", text))))
    if since is not None:
        moment = local_now - since
        if since >= timedelta(days=1):  # "3 days ago" names a day, not a clock time
            return TypedTime(_midnight(moment.date(), zone), True)
        return TypedTime(moment, False)
    parts = _components(text, local_now.date())
    if parts is None:
        return None
    return _assemble(parts, local_now, zone, window_days)
