"""The monitor's messages: the payer asked about a repeat payment, merchants told of a spike."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_percent
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import RepeatAnswer, RepeatButton
from handlers.delivery.notices import buttons_json
from handlers.events import Button
from handlers.money import Money
from handlers.texts import Texts, format_moment, format_money
from storage.models import SuspectedDuplicate, id_of
from storage.outbox import TRANSACTIONAL, enqueue, enqueue_rows, outbox_row
from storage.payer_links import LinkedUser
from storage.suspicions import repeat_share

Rows = tuple[tuple[Button, ...], ...]
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def repeat_buttons(texts: Texts, locale: str, suspicion: SuspectedDuplicate) -> Rows:
    """"Yes, refund the extra one" and "No, both were intended"."""
    def button(key: str, answer: RepeatAnswer) -> Button:
        return Button(texts.get(locale, key), RepeatButton(id_of(suspicion), answer).pack())

    return (
        (button("button.repeat_refund", RepeatAnswer.REFUND),),
        (button("button.repeat_intended", RepeatAnswer.INTENDED),),
    )


def repeat_text(texts: Texts, locale: str, zone: ZoneInfo, suspicion: SuspectedDuplicate,
                orders: tuple[str, str]) -> str:
    """What was charged twice, and when."""
    money = Money.from_minor(suspicion.amount_minor, suspicion.currency)
    return texts.get(
        locale, "monitor.ask_payer",
        amount=format_money(money.amount, money.currency, locale),
        first=format_moment(suspicion.first_paid_at, zone, locale),
        second=format_moment(suspicion.paid_at, zone, locale),
        first_order=orders[0], second_order=orders[1],
    )


Asked = tuple[SuspectedDuplicate, tuple[str, str]]  # a suspicion and its two orders


async def ask_payers(
    session: AsyncSession, texts: Texts, default_locale: str, zone: ZoneInfo, asked: list[Asked],
    users: Mapping[int, LinkedUser], *, now: datetime,
) -> None:
    """Ask each linked payer whether their repeat payment was a mistake (once per suspicion)."""
    rows = []
    for suspicion, orders in asked:
        assert suspicion.telegram_user_id is not None
        user = users.get(suspicion.telegram_user_id)
        locale = user.locale if user and user.locale else default_locale
        rows.append(outbox_row(
            dedupe_key=f"repeat:{id_of(suspicion)}",
            chat_id=suspicion.telegram_user_id,  # a private chat's id is the user's id
            text=repeat_text(texts, locale, zone, suspicion, orders),
            buttons=buttons_json(repeat_buttons(texts, locale, suspicion)),
            priority=TRANSACTIONAL,
            not_before=now,
            dropped_because="the user blocked the bot" if user and user.unreachable else None,
        ))
    await enqueue_rows(session, rows=rows)


async def alert_merchants_of_a_spike(
    session: AsyncSession, texts: Texts, locale: str, admin_ids: Sequence[int], *, now: datetime,
    rate: Decimal, min_charges: int, period: timedelta, window: timedelta,
) -> bool:
    """Tell merchant admins when repeats passed `rate` of the last hour's charges; once per period."""
    repeats, charges = await repeat_share(session, since=now - timedelta(hours=1))
    if charges < min_charges or Decimal(repeats) < rate * charges:
        return False
    period_number = int((now - EPOCH) / period)  # the outbox's dedupe key makes it once per period
    text = texts.get(
        locale, "monitor.spike",
        repeats=repeats, charges=charges,
        share=format_percent(Decimal(repeats) / charges, locale=locale),
        minutes=int(window.total_seconds() // 60),
    )
    for admin in admin_ids:
        await enqueue(session, dedupe_key=f"spike:{period_number}:{admin}", chat_id=admin, text=text,
                      priority=TRANSACTIONAL, not_before=now)
    return True
