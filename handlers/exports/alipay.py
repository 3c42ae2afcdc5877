"""Alipay's merchant bill (业务明细): GBK, `#` lines around a 25-column table, refunds as negative lines."""

from zoneinfo import ZoneInfo

from handlers.exports.cells import BEIJING, decimal_amount, identifier, minor_units, moment
from handlers.exports.layout import (
    Charge,
    ExportLayout,
    Header,
    LayoutReading,
    NumberedCells,
    RefundRow,
    new_charge,
)
from storage.models import TransactionStatus

CURRENCY = "CNY"  # the bill's amounts are in yuan (元)
ORDER_AMOUNT, RECEIVED = "订单金额（元）", "商家实收（元）"


def matches(header: list[str]) -> bool:
    """A 业务明细 table has 支付宝交易号 and 业务类型."""
    return Header(header).has("支付宝交易号", "业务类型")


def _charge(header: Header, cells: list[str], amount_minor: int, time_column: str) -> Charge:
    return new_charge(
        transaction_id=identifier(header.cell(cells, "支付宝交易号"), "支付宝交易号"),
        order_id=identifier(header.cell(cells, "商户订单号"), "商户订单号"),
        payer_id=identifier(header.cell(cells, "对方账户"), "对方账户", required=False),
        amount_minor=amount_minor,
        currency=CURRENCY,
        status=TransactionStatus.SUCCEEDED,
        created_at=moment(header.cell(cells, time_column), time_column, BEIJING),
    )


def _read_refund(header: Header, cells: list[str], line: int) -> RefundRow:
    """A 退款 line: negative amounts; a positive 订单金额 beside a negative 商家实收 is the charge's own."""
    ordered = decimal_amount(header.cell(cells, ORDER_AMOUNT), ORDER_AMOUNT, CURRENCY)
    received = decimal_amount(header.cell(cells, RECEIVED), RECEIVED, CURRENCY) if header.cell(
        cells, RECEIVED) else ordered
    refunded = -ordered if ordered < 0 else -received
    if refunded <= 0:
        raise ValueError(f"a 退款 line needs a negative {ORDER_AMOUNT} or {RECEIVED}")
    charge = _charge(header, cells, minor_units(ordered, CURRENCY), "创建时间") if ordered > 0 else None
    transaction_id = identifier(header.cell(cells, "支付宝交易号"), "支付宝交易号")
    return RefundRow(line, transaction_id, minor_units(refunded, CURRENCY), CURRENCY, charge)


def read(names: list[str], lines: NumberedCells, zone: ZoneInfo) -> LayoutReading:
    """Every line of the table (not the `#` totals after it); times are Beijing time whatever `zone` is."""
    header, reading = Header(names), LayoutReading()
    for line, cells in lines:
        if cells[0].strip().startswith("#"):
            continue
        try:
            kind = header.cell(cells, "业务类型")
            if "退款" in kind:
                reading.refunds.append(_read_refund(header, cells, line))
                continue
            if "交易" not in kind:
                raise ValueError(f"业务类型 {kind[:20]!r} is neither 交易 nor 退款")
            amount = decimal_amount(header.cell(cells, ORDER_AMOUNT), ORDER_AMOUNT, CURRENCY)
            if amount <= 0:
                raise ValueError(f"{ORDER_AMOUNT} {amount} must be positive on a 交易 line")
            time_column = "完成时间" if header.cell(cells, "完成时间") else "创建时间"
            reading.charges.append((line, _charge(header, cells, minor_units(amount, CURRENCY), time_column)))
        except ValueError as error:
            reading.problems.append((line, str(error)))
    return reading


LAYOUT = ExportLayout(
    name="alipay", title="Alipay merchant bill (业务明细)",
    columns_hint="支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,…", matches=matches, read=read,
)
