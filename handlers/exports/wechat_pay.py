"""WeChat Pay's merchant trade bill (交易账单, bill type ALL): 27 columns, or the 24-column legacy layout."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from handlers.exports.cells import BEIJING, currency_code, decimal_amount, identifier, minor_units, moment
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

SUMMARY = "总交易单数"  # the header of the totals that end the bill
STATES = {
    "SUCCESS": TransactionStatus.SUCCEEDED,
    "REVOKED": TransactionStatus.FAILED,  # cancelled by the merchant: no money kept
    "PAYERROR": TransactionStatus.FAILED,
    "CLOSED": TransactionStatus.FAILED,
    "NOTPAY": TransactionStatus.PENDING,
    "USERPAYING": TransactionStatus.PENDING,
}
REFUND = "REFUND"
UNFINISHED_REFUND_STATES = {"FAIL", "FAILED", "CLOSED", "NOTSURE"}  # no money went back
WALLET_BANKS = {"CFT", "LQT"}  # 零钱 and 零钱通: refunds land in minutes


def matches(header: list[str]) -> bool:
    """A trade bill has 交易时间, 微信订单号 and 商户订单号."""
    return Header(header).has("交易时间", "微信订单号", "商户订单号")


def _method(bank: str) -> str | None:
    """Wallet balance or a bank card, from 付款银行 (e.g. CFT, ICBC_DEBIT, CMB_CREDIT)."""
    if bank.upper() in WALLET_BANKS:
        return "wallet"
    return "card" if bank.upper().endswith(("_DEBIT", "_CREDIT")) else None


def _order_amount(header: Header, cells: list[str], currency: str) -> Decimal:
    """订单金额 (27 columns), else 应结订单金额 (24 columns; 总金额 in the oldest bills)."""
    settled = header.column("应结订单金额", "总金额") or "订单金额"
    column = "订单金额" if header.cell(cells, "订单金额") else settled
    return decimal_amount(header.cell(cells, column), column, currency)


def _charge(header: Header, cells: list[str], status: str, amount: Decimal, currency: str) -> Charge:
    return new_charge(
        transaction_id=identifier(header.cell(cells, "微信订单号"), "微信订单号"),
        order_id=identifier(header.cell(cells, "商户订单号"), "商户订单号"),
        payer_id=identifier(header.cell(cells, "用户标识"), "用户标识", required=False),
        amount_minor=minor_units(amount, currency),
        currency=currency,
        status=status,
        created_at=moment(header.cell(cells, "交易时间"), "交易时间", BEIJING),
        method=_method(header.cell(cells, "付款银行")),
    )


def _read_refund(header: Header, cells: list[str], line: int, currency: str) -> RefundRow:
    """A REFUND line: it repeats the order's ids; 订单金额 > 0 lets the charge be recorded from it."""
    refunded = decimal_amount(header.cell(cells, "退款金额"), "退款金额", currency)
    if refunded == 0 and header.cell(cells, "申请退款金额"):
        refunded = decimal_amount(header.cell(cells, "申请退款金额"), "申请退款金额", currency)
    if refunded <= 0:
        raise ValueError(f"退款金额 {header.cell(cells, '退款金额')!r} must be positive on a REFUND line")
    amount = _order_amount(header, cells, currency)
    charge = _charge(header, cells, TransactionStatus.SUCCEEDED, amount, currency) if amount > 0 else None
    transaction_id = identifier(header.cell(cells, "微信订单号"), "微信订单号")
    return RefundRow(line, transaction_id, minor_units(refunded, currency), currency, charge)


def read(names: list[str], lines: NumberedCells, zone: ZoneInfo) -> LayoutReading:
    """Every detail line up to the summary; times are Beijing time whatever `zone` is."""
    header, reading = Header(names), LayoutReading()
    for line, cells in lines:
        if cells[0].strip().lstrip("`").startswith(SUMMARY):
            break
        try:
            currency = currency_code(header.cell(cells, "货币种类") or "CNY", "货币种类")
            state = header.cell(cells, "交易状态").upper()
            if state == REFUND:
                if header.cell(cells, "退款状态").upper() in UNFINISHED_REFUND_STATES:
                    reading.unfinished_refunds += 1
                else:
                    reading.refunds.append(_read_refund(header, cells, line, currency))
                continue
            if state not in STATES:
                raise ValueError(f"交易状态 {state[:20]!r} is not one of {', '.join([*STATES, REFUND])}")
            amount = _order_amount(header, cells, currency)
            if amount <= 0:
                raise ValueError(f"订单金额 {amount} must be a positive number")
            reading.charges.append((line, _charge(header, cells, STATES[state], amount, currency)))
        except ValueError as error:
            reading.problems.append((line, str(error)))
    return reading


LAYOUT = ExportLayout(
    name="wechat_pay", title="WeChat Pay trade bill (交易账单)",
    columns_hint="交易时间,公众账号ID,商户号,…,微信订单号,商户订单号,用户标识,…", matches=matches, read=read,
)
