"""Payers' own wallet bills (WeChat 微信支付账单明细, Alipay 交易明细 CSV) read into entries."""

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from handlers.money import Money

BEIJING = ZoneInfo("Asia/Shanghai")  # both apps write Beijing time without a zone
CURRENCY = "CNY"
# The header follows ~16 (WeChat) or ~24 (Alipay) preamble lines; a file without one by here is no bill.
HEADER_SEARCH_ROWS = 60
MAX_TEXT = 128  # longest counterparty, item or number kept; bills never come close
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
# Statuses of a payment whose money left and stayed gone (refunded ones read 已全额退款, 交易关闭 …).
SUCCEEDED = frozenset({"支付成功", "交易成功", "已支付", "已转账", "对方已收钱", "等待确认收货"})


class BillPlatform(StrEnum):
    """Which wallet app exported the bill."""

    WECHAT = "wechat"
    ALIPAY = "alipay"


class Direction(StrEnum):
    """收/支: money out, money in, or neither (transfers, refunds in Alipay's 不计收支)."""

    EXPENSE = "expense"
    INCOME = "income"
    NEUTRAL = "neutral"


DIRECTIONS = {"支出": Direction.EXPENSE, "收入": Direction.INCOME}


@dataclass(frozen=True)
class BillEntry:
    """One line of a payer's bill."""

    at: datetime  # aware, UTC
    counterparty: str
    item: str
    amount: Money
    direction: Direction
    status: str
    transaction_no: str
    merchant_order_no: str
    line: int

    @property
    def succeeded(self) -> bool:
        """Whether the money went out and was not given back."""
        return self.status in SUCCEEDED


@dataclass(frozen=True)
class PayerBill:
    """The platform that wrote the bill and its entries, in file order."""

    platform: BillPlatform
    entries: tuple[BillEntry, ...]


class UnreadableBill(ValueError):
    """The text cannot be read as a payer's bill."""


class NotABill(UnreadableBill):
    """No WeChat or Alipay bill header in the first rows."""


class MalformedBill(UnreadableBill):
    """A bill whose table is broken at `line`."""

    def __init__(self, platform: BillPlatform, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.platform, self.line, self.reason = platform, line, reason


@dataclass(frozen=True)
class Layout:
    """Where a platform's bill keeps each field, by header name (NFKC: 金额（元） is 金额(元))."""

    platform: BillPlatform
    times: tuple[str, ...]  # the first non-empty one is the payment time
    counterparty: str
    item: str
    direction: str
    amount: str
    status: str
    transaction_no: str
    merchant_order_no: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the layout needs."""
        return (*self.times, self.counterparty, self.item, self.direction, self.amount, self.status,
                self.transaction_no, self.merchant_order_no)


LAYOUTS = (
    Layout(BillPlatform.WECHAT, ("交易时间",), "交易对方", "商品", "收/支", "金额(元)", "当前状态",
           "交易单号", "商户单号"),
    Layout(BillPlatform.ALIPAY, ("交易时间",), "交易对方", "商品说明", "收/支", "金额", "交易状态",
           "交易订单号", "商家订单号"),
    # Older Alipay exports (交易记录明细查询): 交易号, 商户订单号, 交易创建时间, 付款时间, …
    Layout(BillPlatform.ALIPAY, ("付款时间", "交易创建时间"), "交易对方", "商品名称", "收/支", "金额(元)",
           "交易状态", "交易号", "商户订单号"),
)


def read_payer_bill(text: str) -> PayerBill:
    """Every entry of a WeChat or Alipay bill; NotABill or MalformedBill (with its line) otherwise."""
    rows = _rows(text)
    found = _find_header(rows)
    if found is None:
        raise NotABill("no WeChat or Alipay bill header (交易时间, 交易对方, 收/支 …) in the first rows")
    layout, header_index, columns = found
    entries = []
    for index in range(header_index + 1, len(rows)):
        cells = [_clean(cell) for cell in rows[index]]
        if not any(cells):
            continue
        if cells[0].startswith(("-", "#")):
            break  # the older Alipay layout's footer: a dashed line, then totals
        entries.append(_entry(cells, layout, columns, line=index + 1))
    return PayerBill(layout.platform, tuple(entries))


def detect_platform(text: str) -> BillPlatform | None:
    """Which app's bill this is, judged by its header; None if it has neither header."""
    found = _find_header(_rows(text))
    return found[0].platform if found else None


def _rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as error:  # a NUL byte, a field past csv's size limit
        raise NotABill(f"not CSV text: {error}") from error


def _find_header(rows: Sequence[Sequence[str]]) -> tuple[Layout, int, dict[str, int]] | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(row):
            columns.setdefault(unicodedata.normalize("NFKC", cell).strip(), position)
        for layout in LAYOUTS:
            if all(name in columns for name in layout.columns):
                return layout, index, columns
    return None


def _clean(cell: str) -> str:
    """A value without the padding and the tab the apps put after numbers (so spreadsheets keep them text)."""
    return cell.strip().strip("\t`").strip()


def _entry(cells: list[str], layout: Layout, columns: dict[str, int], *, line: int) -> BillEntry:
    platform = layout.platform

    def cell(name: str) -> str:
        position = columns[name]
        if position >= len(cells):
            raise MalformedBill(platform, line, f"the row ends before the {name} column")
        return cells[position][:MAX_TEXT]

    moment = next((value for value in (cell(name) for name in layout.times) if value), "")
    return BillEntry(
        at=_time(moment, platform, line),
        counterparty=cell(layout.counterparty),
        item=cell(layout.item),
        amount=_amount(cell(layout.amount), platform, line),
        direction=DIRECTIONS.get(cell(layout.direction), Direction.NEUTRAL),
        status=cell(layout.status),
        transaction_no=cell(layout.transaction_no),
        merchant_order_no="" if cell(layout.merchant_order_no) == "/" else cell(layout.merchant_order_no),
        line=line,
    )


def _time(text: str, platform: BillPlatform, line: int) -> datetime:
    for pattern in TIME_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return local.replace(tzinfo=BEIJING).astimezone(UTC)
    raise MalformedBill(platform, line, f"{text[:40]!r} is not a time like 2026-11-25 21:03:40")


def _amount(text: str, platform: BillPlatform, line: int) -> Money:
    raw = text.lstrip("¥￥").replace(",", "").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise MalformedBill(platform, line, f"{text[:40]!r} is not an amount like 88.00") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise MalformedBill(platform, line, f"{text[:40]!r} is not an amount like 88.00")
    return Money(amount.quantize(Decimal("0.01")), CURRENCY)


# --- finding the duplicate ----------------------------------------------------------------


def _squeezed(text: str) -> str:
    """Case, width and spaces do not count when names are compared."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_merchant(counterparty: str, merchant_names: Iterable[str]) -> bool:
    """Whether the counterparty is one of the merchant's names (or contains one)."""
    payee = _squeezed(counterparty)
    return any(name and name in payee for name in map(_squeezed, merchant_names))


def charges_to_merchant(entries: Iterable[BillEntry], merchant_names: Sequence[str]) -> list[BillEntry]:
    """The successful payments to the merchant, oldest first."""
    return sorted(
        (e for e in entries if e.direction is Direction.EXPENSE and e.succeeded and e.amount.amount > 0
         and is_merchant(e.counterparty, merchant_names)),
        key=lambda e: e.at,
    )


def find_duplicate_pair(
    entries: Iterable[BillEntry], merchant_names: Sequence[str], window: timedelta
) -> tuple[BillEntry, BillEntry] | None:
    """Two successful payments of the same amount to the merchant within `window`: the closest pair, and of
    equally close ones the most recent; (earlier, later), or None."""
    by_amount: dict[Money, list[BillEntry]] = {}
    for charge in charges_to_merchant(entries, merchant_names):
        by_amount.setdefault(charge.amount, []).append(charge)
    best: tuple[BillEntry, BillEntry] | None = None
    for charges in by_amount.values():
        for earlier, later in pairwise(charges):
            if earlier.transaction_no and earlier.transaction_no == later.transaction_no:
                continue  # one payment listed twice is not two payments
            if later.at - earlier.at > window:
                continue
            if best is None or _closer(earlier, later, best):
                best = (earlier, later)
    return best


def _closer(earlier: BillEntry, later: BillEntry, best: tuple[BillEntry, BillEntry]) -> bool:
    gap, best_gap = later.at - earlier.at, best[1].at - best[0].at
    return gap < best_gap or (gap == best_gap and later.at > best[1].at)
