"""The merchant's list of suspected duplicates not yet resolved."""

from zoneinfo import ZoneInfo

from handlers.money import Money
from handlers.payer.turn import Turn
from handlers.texts import Texts, format_moment, format_money
from storage.models import SuspectedDuplicate, Transaction
from storage.suspicions import open_suspicions

SHOWN = 20


def suspicion_line(texts: Texts, locale: str, zone: ZoneInfo, suspicion: SuspectedDuplicate,
                   orders: tuple[str, str]) -> str:
    """One suspected duplicate: when, how much, who, which orders, where it stands."""
    money = Money.from_minor(suspicion.amount_minor, suspicion.currency)
    return texts.get(
        locale, "monitor.list_line",
        paid_at=format_moment(suspicion.paid_at, zone, locale),
        amount=format_money(money.amount, money.currency, locale),
        payer=suspicion.payer_id, first_order=orders[0], order=orders[1],
        status=texts.get(locale, f"monitor.status_{suspicion.status}"),
    )


async def list_suspicions(turn: Turn) -> None:
    """`/duplicates` for a merchant admin: the newest open suspicions."""
    suspicions = await open_suspicions(turn.session, limit=SHOWN)
    if not suspicions:
        turn.say(turn.t("monitor.list_empty"))
        return
    lines = [turn.t("monitor.list_header", count=len(suspicions))]
    for suspicion in suspicions:
        original = await turn.session.get(Transaction, suspicion.original_transaction_id)
        repeat = await turn.session.get(Transaction, suspicion.transaction_id)
        orders = (original.order_id if original else "?", repeat.order_id if repeat else "?")
        lines.append(suspicion_line(turn.texts, turn.locale, turn.rules.zone, suspicion, orders))
    turn.say("\n".join(lines))
