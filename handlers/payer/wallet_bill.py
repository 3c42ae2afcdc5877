"""A payer's wallet bill at the screenshot step: its duplicated pair to the merchant fills in the report."""

from babel.dates import format_date, format_time, format_timedelta

from handlers.exports.payer_bills import (
    BillEntry,
    BillPlatform,
    PayerBill,
    charges_to_merchant,
    find_duplicate_pair,
)
from handlers.money import Money
from handlers.parsing import InputRejected, check_payment_time, parse_order_number
from handlers.payer.turn import Turn
from handlers.texts import BABEL_LOCALES, format_items, format_money

Pair = tuple[BillEntry, BillEntry]


def platform_name(turn: Turn, platform: BillPlatform) -> str:
    """WeChat / 微信, Alipay / 支付宝."""
    return turn.t(f"bill.platform_{platform.value}")


def choose_pair(turn: Turn, bill: PayerBill) -> Pair:
    """The duplicated pair to report, or InputRejected saying why the bill has none (or why its time will
    not do: in the future, or older than the refund window).

    Of several pairs, one of the amount the payer already typed comes first; then the closest, most recent.
    """
    names, window = turn.rules.merchant_names, turn.rules.duplicate_window
    platform = platform_name(turn, bill.platform)
    if not charges_to_merchant(bill.entries, names):
        raise InputRejected("bill.no_merchant_charge", platform=platform)
    report = turn.conversation
    typed = [] if report.amount_minor is None or report.currency is None else [
        e for e in bill.entries if e.amount == Money.from_minor(report.amount_minor, report.currency)
    ]
    pair = find_duplicate_pair(typed, names, window) or find_duplicate_pair(bill.entries, names, window)
    if pair is None:
        babel_locale = BABEL_LOCALES.get(turn.locale, "en_US")
        raise InputRejected("bill.no_pair", platform=platform,
                            window=format_timedelta(window, locale=babel_locale))
    check_payment_time(pair[1].at, day_only=False, now=turn.now, zone=turn.rules.zone,
                       window_days=turn.rules.refund_window_days)
    return pair


def fill_from_bill(turn: Turn, bill: PayerBill, pair: Pair) -> str:
    """Put the later payment's amount, time and order number in the report (a pair choose_pair gave); the
    lines that say so.

    An order number the payer typed stays when neither payment of the pair carries it: the payer may
    know better than our reading of their bill; the answer names the bill's, and "Edit order number"
    on the review is one tap away.
    """
    earlier, later = pair
    report = turn.conversation
    kept_order = _order_differs(report.order_id, pair)
    if not kept_order and (order := _order_number(later.merchant_order_no)):
        report.order_id, report.order_skipped = order, False
    report.amount_minor, report.currency = later.amount.minor, later.amount.currency
    report.paid_at, report.paid_on_day_only = later.at, False
    orders = format_items([e.merchant_order_no or turn.t("bill.no_order_number") for e in pair], turn.locale)
    lines = [turn.t(
        "bill.found",
        platform=platform_name(turn, bill.platform),
        amount=format_money(later.amount.amount, later.amount.currency, turn.locale),
        name=later.counterparty,
        when=_when(turn, earlier, later),
        orders=orders,
    )]
    if kept_order:
        lines.append(turn.t("bill.kept_your_order", order=report.order_id, orders=orders))
    return "\n\n".join(lines)


def _order_number(text: str) -> str | None:
    """The bill's merchant order number as a typed one would be read; None if it would not pass."""
    if not text:
        return None
    try:
        return parse_order_number(text)
    except InputRejected:
        return None


def _order_differs(typed: str | None, pair: Pair) -> bool:
    """Whether the payer typed an order number and the pair's payments carry others."""
    listed = {_comparable(e.merchant_order_no) for e in pair if e.merchant_order_no}
    return bool(typed) and bool(listed) and _comparable(typed or "") not in listed


def _comparable(order: str) -> str:
    return (_order_number(order) or order).casefold()


def _when(turn: Turn, earlier: BillEntry, later: BillEntry) -> str:
    """Both payment times to the second (a re-tap is often seconds later), the day once if they share it."""
    babel_locale = BABEL_LOCALES.get(turn.locale, "en_US")
    first, second = (e.at.astimezone(turn.rules.zone) for e in (earlier, later))
    days = [format_date(m.date(), format="medium", locale=babel_locale) for m in (first, second)]
    clocks = [format_time(m.timetz(), format="medium", locale=babel_locale) for m in (first, second)]
    if first.date() == second.date():
        return turn.t("bill.times_same_day", day=days[0], first=clocks[0], second=clocks[1])
    return turn.t("bill.times_two_days", first=f"{days[0]} {clocks[0]}", second=f"{days[1]} {clocks[1]}")
