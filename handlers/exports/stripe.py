"""Stripe's payments export (unified_payments.csv): columns chosen and renamed by users, so read by name."""

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from handlers.exports.cells import currency_code, decimal_amount, identifier, minor_units, moment
from handlers.exports.layout import ExportLayout, Header, LayoutReading, NumberedCells, RefundRow, new_charge
from storage.models import TransactionStatus

UTC_ZONE = ZoneInfo("UTC")
# Title case in today's exports, snake_case in older ones; Header compares without case.
ID, AMOUNT, CURRENCY, STATUS, CAPTURED = "id", "Amount", "Currency", "Status", "Captured"
CREATED = ("Created date (UTC)", "Created (UTC)", "created")
REFUNDED = ("Amount Refunded", "amount_refunded")
CUSTOMER = ("Customer ID", "customer")
EMAIL = ("Customer Email", "customer_email")
DESCRIPTION = "Description"
ORDER_METADATA = ("order_id (metadata)", "order_number (metadata)", "order (metadata)")
METHOD = ("Payment Method Type", "payment_method_type")
CARD = ("Card ID", "Card Brand", "Card Last4", "card_brand", "card_last4")
STATUSES = {
    "paid": TransactionStatus.SUCCEEDED,
    "succeeded": TransactionStatus.SUCCEEDED,
    "refunded": TransactionStatus.REFUNDED,
    "partially refunded": TransactionStatus.SUCCEEDED,
    "failed": TransactionStatus.FAILED,
    "blocked": TransactionStatus.FAILED,
    "canceled": TransactionStatus.FAILED,
    "uncaptured": TransactionStatus.PENDING,
    "requires capture": TransactionStatus.PENDING,
    "pending": TransactionStatus.PENDING,
}
_ORDER_IN_TEXT = re.compile(
    r"\border\b\s*(?:#|no\.?|number|nr\.?|id)?\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9_-]*)"
    r"|订单(?:号|编号)?\s*[:：#]?\s*([A-Za-z0-9][A-Za-z0-9_-]*)",
    re.IGNORECASE,
)


def matches(header: list[str]) -> bool:
    """A payments export has id, Amount, Currency and a creation time."""
    columns = Header(header, fold_case=True)
    return columns.has(ID, AMOUNT, CURRENCY) and columns.column(*CREATED) is not None


def order_in_description(description: str) -> str | None:
    """The order number a description names ("Order #A1001", "Order A1001", "订单号 A1001"), if any."""
    for found in _ORDER_IN_TEXT.finditer(description):
        number = found.group(1) or found.group(2)
        if any(c.isdigit() for c in number):
            return number
    return None


def _status(header: Header, cells: list[str]) -> str:
    """Status read loosely (Paid, paid, partially_refunded …); without the column, from Captured."""
    if header.column(STATUS) is None:
        return "paid" if header.cell(cells, CAPTURED).lower() != "false" else "uncaptured"
    status = header.cell(cells, STATUS).lower().replace("_", " ")
    if status not in STATUSES:
        raise ValueError(f"Status {status[:20]!r} is not one of Paid, Refunded, Partially refunded, Failed, "
                         "Uncaptured")
    return status


def _method(header: Header, cells: list[str]) -> str | None:
    method = header.cell(cells, *METHOD).lower()
    if method and len(method) <= 16 and method.replace("_", "").isalnum():
        return method
    return "card" if any(header.cell(cells, column) for column in CARD) else None


def _refunded(header: Header, cells: list[str], status: str, amount: Decimal, currency: str) -> Decimal:
    """How much went back: Amount Refunded, or all of it for a Refunded charge without that column."""
    column = header.column(*REFUNDED)
    if column and header.cell(cells, column):
        return decimal_amount(header.cell(cells, column), column, currency)
    if status == "partially refunded":
        raise ValueError("a Partially refunded charge needs the Amount Refunded column")
    return amount if status == "refunded" else Decimal(0)


def _read_line(header: Header, cells: list[str], line: int, reading: LayoutReading) -> None:
    charge_id = identifier(header.cell(cells, ID), "id")
    currency = currency_code(header.cell(cells, CURRENCY), "Currency")
    amount = decimal_amount(header.cell(cells, AMOUNT), "Amount", currency)
    if amount <= 0:
        raise ValueError(f"Amount {amount} must be a positive number")
    status = _status(header, cells)
    created_column = header.column(*CREATED) or CREATED[0]
    order = header.cell(cells, *ORDER_METADATA) or order_in_description(header.cell(cells, DESCRIPTION))
    refunded = _refunded(header, cells, status, amount, currency)
    charge = new_charge(
        transaction_id=charge_id,
        order_id=identifier(order or charge_id, "order number"),
        payer_id=identifier(header.cell(cells, *CUSTOMER) or header.cell(cells, *EMAIL), "Customer ID",
                            required=False),
        amount_minor=minor_units(amount, currency),
        currency=currency,
        # A refunded charge is saved as the charge it was; its refund line below marks it.
        status=TransactionStatus.SUCCEEDED if refunded else STATUSES[status],
        created_at=moment(header.cell(cells, created_column), created_column, UTC_ZONE),
        method=_method(header, cells),
    )
    reading.charges.append((line, charge))
    if refunded > 0:
        reading.refunds.append(RefundRow(line, charge_id, minor_units(refunded, currency), currency))


def read(names: list[str], lines: NumberedCells, zone: ZoneInfo) -> LayoutReading:
    """Every line; times are UTC whatever `zone` is."""
    header, reading = Header(names, fold_case=True), LayoutReading()
    for line, cells in lines:
        try:
            _read_line(header, cells, line, reading)
        except ValueError as error:
            reading.problems.append((line, str(error)))
    return reading


LAYOUT = ExportLayout(
    name="stripe", title="Stripe payments export (unified_payments.csv)",
    columns_hint="id,Created date (UTC),Amount,Amount Refunded,Currency,Status,Customer ID,…",
    matches=matches, read=read,
)
