"""Refund lines against their charges: refunded once they add up to the charge, else a partial refund."""

from collections.abc import Mapping

from handlers.exports.layout import RefundRow
from handlers.exports.report import ExportReport
from storage.models import TransactionStatus

FULL, PARTIAL = "full", "partial"


def refunds_by_charge(refunds: list[RefundRow]) -> dict[str, list[RefundRow]]:
    """Refund lines grouped by the charge they give money back on, in file order."""
    groups: dict[str, list[RefundRow]] = {}
    for refund in refunds:
        groups.setdefault(refund.transaction_id, []).append(refund)
    return groups


def _outcome(group: list[RefundRow], amount_minor: int, currency: str) -> str:
    """FULL or PARTIAL, or ValueError when the refunds are in another currency than the charge."""
    if any(refund.currency != currency for refund in group):
        first = group[0]
        raise ValueError(f"refund of {first.transaction_id} in {first.currency} for a charge in {currency}")
    return FULL if sum(refund.amount_minor for refund in group) >= amount_minor else PARTIAL


def apply_refunds_in_file(report: ExportReport) -> None:
    """Mark the file's own charges refunded when the file's refunds of them reach their amount."""
    rows = {row["transaction_id"]: row for row in report.rows}
    for transaction_id, group in refunds_by_charge(report.refunds).items():
        charge = rows.get(transaction_id)
        if charge is None:
            continue
        try:
            outcome = _outcome(group, charge["amount_minor"], charge["currency"])
        except ValueError as error:
            report.problems.append((group[0].line, str(error)))
            continue
        if outcome == FULL:
            charge["status"] = str(TransactionStatus.REFUNDED)
        else:
            report.partial_refunds.append(transaction_id)


def refunds_outside_file(report: ExportReport) -> dict[str, list[RefundRow]]:
    """Refund lines whose charge is not among the file's rows."""
    ids = {row["transaction_id"] for row in report.rows}
    return {tx: group for tx, group in refunds_by_charge(report.refunds).items() if tx not in ids}


def settle_refunds_outside_file(report: ExportReport, known: Mapping[str, tuple[int, str]]) -> None:
    """Refunds of charges the database knows (id -> amount_minor, currency), else recorded from the line.

    A refund whose charge is nowhere and whose line does not say enough to record it is a problem.
    """
    for transaction_id, group in refunds_outside_file(report).items():
        described = next((refund.charge for refund in group if refund.charge is not None), None)
        if transaction_id in known:
            amount_minor, currency = known[transaction_id]
        elif described is not None:
            amount_minor, currency = described["amount_minor"], described["currency"]
        else:
            problem = (f"refund of {transaction_id}: its charge is neither in this file nor in the database "
                       "(import the export with the payment first)")
            report.problems.append((group[0].line, problem))
            continue
        try:
            outcome = _outcome(group, amount_minor, currency)
        except ValueError as error:
            report.problems.append((group[0].line, str(error)))
            continue
        if outcome == PARTIAL:
            report.partial_refunds.append(transaction_id)
        if transaction_id in known:
            if outcome == FULL:
                report.refunded_in_database.append(transaction_id)
        elif described is not None:
            status = TransactionStatus.REFUNDED if outcome == FULL else TransactionStatus.SUCCEEDED
            report.rows.append({**described, "status": str(status)})
