"""The merchant's `/merchant` (`/dashboard`): duplicates, refunds and tips of the last days, as one chart."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal, format_percent
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.events import Photo
from handlers.payer.turn import Turn
from handlers.ports import CountChart, CountSeries, SeriesStyle
from handlers.support.reports import median_duration, period_days, period_start
from handlers.texts import BABEL_LOCALES
from storage.merchant_stats import (
    TipAnswers,
    refunds_landed,
    reports_filed,
    suspicions_paid,
    tip_answers,
    tips_sent,
)
from storage.models import SuspicionStatus

DEFAULT_DAYS, MAX_DAYS = 14, 365
CAPTION_LIMIT = 1024  # characters of a photo caption

Say = Callable[..., str]  # a message key and its placeholders → the sentence in the merchant's language


@dataclass(frozen=True)
class DashboardDay:
    """One local day: duplicate reports filed, of them confirmed, and suspected duplicates paid that day."""

    day: date
    reports: int
    confirmed: int
    suspected: int


@dataclass(frozen=True)
class Dashboard:
    """The merchant's figures over the last days (today included), in the bot's zone."""

    per_day: tuple[DashboardDay, ...]
    reports: int
    confirmed: int
    refunds_landed: int
    median_landing: timedelta | None
    suspected: int
    payers_said_yes: int
    payers_said_no: int
    tips_sent: int
    tip_answers: TipAnswers

    @property
    def has_data(self) -> bool:
        """Whether anything happened in the period (the tip answers are not of the period)."""
        return any((self.reports, self.refunds_landed, self.suspected, self.tips_sent))

    @property
    def opt_out_rate(self) -> Decimal | None:
        """Payers who said no to tips among those who answered; None when nobody answered."""
        answers = self.tip_answers
        return Decimal(answers.opted_out) / answers.answered if answers.answered else None


async def build_dashboard(session: AsyncSession, *, days: int, now: datetime, zone: ZoneInfo) -> Dashboard:
    """The figures of the last `days` calendar days of `zone`."""
    since = period_start(days=days, now=now, zone=zone)
    period = period_days(days=days, now=now, zone=zone)
    shown = set(period)

    def day_of(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    reports = [r for r in await reports_filed(session, since=since) if day_of(r.filed_at) in shown]
    landed = [r for r in await refunds_landed(session, since=since) if day_of(r.landed_at) in shown]
    suspicions = [(paid_at, status) for paid_at, status in await suspicions_paid(session, since=since)
                  if day_of(paid_at) in shown]
    sent = [moment for moment in await tips_sent(session, since=since) if day_of(moment) in shown]
    reported = Counter(day_of(r.filed_at) for r in reports)
    confirmed = Counter(day_of(r.filed_at) for r in reports if r.confirmed)
    suspected = Counter(day_of(paid_at) for paid_at, _ in suspicions)
    answers = Counter(status for _, status in suspicions)
    return Dashboard(
        per_day=tuple(DashboardDay(day, reported[day], confirmed[day], suspected[day]) for day in period),
        reports=len(reports),
        confirmed=sum(confirmed.values()),
        refunds_landed=len(landed),
        median_landing=median_duration([max(r.landed_at - r.filed_at, timedelta(0)) for r in landed]),
        suspected=len(suspicions),
        payers_said_yes=answers[SuspicionStatus.CONFIRMED],
        payers_said_no=answers[SuspicionStatus.DECLINED],
        tips_sent=len(sent),
        tip_answers=await tip_answers(session),
    )


def requested_days(args: str) -> int | None:
    """The days `/merchant [days]` asks for: 14 when none; None unless a whole number from 1 to 365."""
    text = args.strip()
    if not text:
        return DEFAULT_DAYS
    if len(text) > 3 or not text.isascii() or not text.isdigit():
        return None
    days = int(text)
    return days if 1 <= days <= MAX_DAYS else None


def dashboard_caption(dashboard: Dashboard, say: Say, locale: str) -> str:
    """The figures as a short text, numbers written the way `locale` writes them."""
    babel = BABEL_LOCALES.get(locale, "en_US")

    def number(value: int) -> str:
        return format_decimal(value, locale=babel)

    median = dashboard.median_landing
    lines = [
        say("dashboard.title", **_bounds(dashboard, babel)),
        say("dashboard.reports", reports=number(dashboard.reports), confirmed=number(dashboard.confirmed)),
        say("dashboard.refunds", landed=number(dashboard.refunds_landed),
            median=say("dashboard.no_median") if median is None else _duration(median, babel)),
        say("dashboard.suspected", suspected=number(dashboard.suspected),
            yes=number(dashboard.payers_said_yes), no=number(dashboard.payers_said_no)),
        _tips_line(dashboard, say, number, babel),
    ]
    return "\n".join(lines)[:CAPTION_LIMIT]


def empty_text(dashboard: Dashboard, say: Say, locale: str) -> str:
    """What the merchant reads when nothing happened in the period (no chart of zeros)."""
    babel = BABEL_LOCALES.get(locale, "en_US")
    lines = [say("dashboard.empty", **_bounds(dashboard, babel))]
    if dashboard.tip_answers.answered:
        lines.append(_tips_line(dashboard, say, lambda value: format_decimal(value, locale=babel), babel))
    return "\n".join(lines)


def dashboard_chart(dashboard: Dashboard, say: Say, locale: str) -> CountChart:
    """Reports and confirmed duplicates as bars, suspected duplicates as a line, per day."""
    per_day = dashboard.per_day
    return CountChart(
        title=say("dashboard.chart_title", **_bounds(dashboard, BABEL_LOCALES.get(locale, "en_US"))),
        count_axis=say("dashboard.chart_axis"),
        days=tuple(d.day for d in per_day),
        series=(
            CountSeries(say("dashboard.chart_reports"), tuple(d.reports for d in per_day)),
            CountSeries(say("dashboard.chart_confirmed"), tuple(d.confirmed for d in per_day)),
            CountSeries(say("dashboard.chart_suspected"), tuple(d.suspected for d in per_day),
                        SeriesStyle.LINE),
        ),
    )


async def show_dashboard(turn: Turn) -> None:
    """`/merchant [days]` or `/dashboard [days]`: one chart with the figures as its caption."""
    days = requested_days(turn.event.args)
    if days is None:
        turn.say(turn.t("dashboard.bad_days", default=DEFAULT_DAYS, most=MAX_DAYS))
        return
    dashboard = await build_dashboard(turn.session, days=days, now=turn.now, zone=turn.rules.zone)
    if not dashboard.has_data:
        turn.say(empty_text(dashboard, turn.t, turn.locale))
        return
    caption = dashboard_caption(dashboard, turn.t, turn.locale)
    if turn.charts is None:  # a desk wired without a drawer: the figures alone
        turn.say(caption)
        return
    chart = turn.charts.draw_counts(dashboard_chart(dashboard, turn.t, turn.locale))
    turn.outcome.outputs.append(Photo(chart, caption))


def _bounds(dashboard: Dashboard, babel: str) -> dict[str, str]:
    first, last = dashboard.per_day[0].day, dashboard.per_day[-1].day
    return {"first": format_date(first, format="medium", locale=babel),
            "last": format_date(last, format="medium", locale=babel)}


def _duration(duration: timedelta, babel: str) -> str:
    # threshold=2: 40 hours stay "40 hours" rather than rounding to "2 days"
    return format_timedelta(duration, threshold=2, locale=babel)


def _tips_line(dashboard: Dashboard, say: Say, number: Callable[[int], str], babel: str) -> str:
    rate, answers = dashboard.opt_out_rate, dashboard.tip_answers
    if rate is None:
        return say("dashboard.tips_unanswered", sent=number(dashboard.tips_sent))
    return say("dashboard.tips", sent=number(dashboard.tips_sent),
               rate=format_percent(rate, format="#,##0.#%", locale=babel),
               opted_out=number(answers.opted_out), answered=number(answers.answered))
