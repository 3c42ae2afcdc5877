"""The built-in provider: refunds are recorded here and land when someone says so (or after a delay)."""

from datetime import datetime, timedelta

from handlers.ports import RefundRequest, RefundState
from storage.models import Refund, RefundStatus


class LedgerProvider:
    """Records refunds locally; an operator, the payer or LEDGER_SETTLEMENT_DELAY lands them."""

    name = "ledger"

    def __init__(self, settlement_delay: timedelta | None = None):
        self.settlement_delay = settlement_delay

    async def create_refund(self, request: RefundRequest, *, now: datetime) -> RefundState:
        """Record the refund as pending (settling by itself after the delay, if one is set)."""
        settle_at = now + self.settlement_delay if self.settlement_delay else None
        return RefundState(RefundStatus.PENDING, settle_at=settle_at)

    async def refund_status(self, refund: Refund, *, now: datetime) -> RefundState:
        """Pending until landed; past its settlement time it has landed."""
        if refund.status == RefundStatus.PENDING and refund.settle_at and now >= refund.settle_at:
            return RefundState(RefundStatus.SUCCEEDED, bank_reference=refund.bank_reference)
        return RefundState(RefundStatus(refund.status), refund.failure_reason, refund.bank_reference)
