"""What reading an export found: the rows to save, the refunds, the problems, and what they add up to."""

from dataclasses import dataclass, field

from handlers.exports.layout import Charge, RefundRow
from storage.models import TransactionStatus


@dataclass
class ExportReport:
    """Rows ready for storage (CsvReport.rows' shape), refunds, problems (line, reason), and counts."""

    format: str  # the layout's name: own, wechat_pay, alipay, stripe
    title: str  # how the CLI names it
    encoding: str = "utf-8"
    rows: list[Charge] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    partial_refunds: list[str] = field(default_factory=list)  # charges refunded in part: they stay succeeded
    refunded_in_database: list[str] = field(default_factory=list)  # earlier charges this file's refunds close
    unfinished_refunds: int = 0  # refund lines whose refund failed or was closed: ignored

    @property
    def keeps_refunded(self) -> bool:
        """A platform's export never turns a charge known as refunded back into a paid one."""
        return self.format != "own"  # the own layout is the merchant's word: a row may correct a status

    @property
    def charges(self) -> int:
        """Charges that took (or may take) money: every row but the failed ones."""
        return sum(1 for row in self.rows if row["status"] != TransactionStatus.FAILED)

    @property
    def failed(self) -> int:
        """Failed payments, recorded as such."""
        return sum(1 for row in self.rows if row["status"] == TransactionStatus.FAILED)

    @property
    def refunded(self) -> int:
        """Charges refunded in full: rows saved as refunded and earlier charges marked so."""
        in_file = sum(1 for row in self.rows if row["status"] == TransactionStatus.REFUNDED)
        return in_file + len(self.refunded_in_database)

    def succeeded_ids(self) -> list[str]:
        """The transaction ids of the rows saved as succeeded."""
        return [row["transaction_id"] for row in self.rows if row["status"] == TransactionStatus.SUCCEEDED]
