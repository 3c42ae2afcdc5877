"""What every export reader gives back: charges and refunds with their line numbers, and the problems."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.exports.cells import clean
from handlers.transaction_csv import TELEGRAM_ID

Charge = dict[str, Any]  # a transactions-table row plus the `telegram_id` key, as CsvReport.rows holds it
NumberedCells = Iterable[tuple[int, list[str]]]  # (line, cells) of each non-blank line after the header


@dataclass(frozen=True)
class RefundRow:
    """Money given back on a charge, as one line of an export says."""

    line: int
    transaction_id: str  # the charge refunded
    amount_minor: int
    currency: str
    charge: Charge | None = None  # the charge as this line describes it, when it says enough to record it


@dataclass
class LayoutReading:
    """What a reader found: charges (with their lines), refunds, problems (line, reason)."""

    charges: list[tuple[int, Charge]] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    unfinished_refunds: int = 0  # refund lines the platform says failed or were closed: no money went back


@dataclass(frozen=True)
class ExportLayout:
    """One layout the importer knows: how to recognise its header and how to read its lines."""

    name: str
    title: str
    columns_hint: str  # a few of its header's columns, for the "unknown layout" line
    matches: Callable[[list[str]], bool]
    read: Callable[[list[str], NumberedCells, ZoneInfo], LayoutReading]


def header_name(raw: str, *, fold_case: bool = False) -> str:
    """A header cell as compared: no padding, ASCII brackets for full-width ones, maybe lower case."""
    name = clean(raw).replace("（", "(").replace("）", ")")
    return name.lower() if fold_case else name


class Header:
    """Column positions by name, so that a layout reads the same whatever the column order."""

    def __init__(self, names: Sequence[str], *, fold_case: bool = False) -> None:
        self.fold_case = fold_case
        self.positions: dict[str, int] = {}
        for position, raw in enumerate(names):
            self.positions.setdefault(header_name(raw, fold_case=fold_case), position)

    def column(self, *names: str) -> str | None:
        """The first of `names` the header has, as the header spells it."""
        return next((n for n in names if header_name(n, fold_case=self.fold_case) in self.positions), None)

    def has(self, *names: str) -> bool:
        """Whether the header has every one of `names`."""
        return all(header_name(n, fold_case=self.fold_case) in self.positions for n in names)

    def cell(self, cells: Sequence[str], *names: str) -> str:
        """The cleaned value under the first of `names` the header has ("" if none, or the line is short)."""
        name = self.column(*names)
        if name is None:
            return ""
        position = self.positions[header_name(name, fold_case=self.fold_case)]
        return clean(cells[position]) if position < len(cells) else ""


def new_charge(
    *, transaction_id: str, order_id: str, payer_id: str, amount_minor: int, currency: str, status: str,
    created_at: datetime, method: str | None = None,
) -> Charge:
    """A charge in the shape the importer saves."""
    return {
        "transaction_id": transaction_id, "order_id": order_id, "payer_id": payer_id,
        "amount_minor": amount_minor, "currency": currency, "status": str(status), "created_at": created_at,
        "method": method, TELEGRAM_ID: None,
    }
