"""The sweep: claim tickets whose update is due (and ledger refunds due to settle), a batch at a time."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from handlers.ports import Clock
from handlers.refunds.refunding import RefundPolicy, follow_up, land_refund
from handlers.refunds.requests import RefundRequester
from storage.database import Database
from storage.models import RefundStatus
from storage.refunds import claim_due_updates, due_settlements, refund_by_id
from storage.tickets import ticket_by_id

log = logging.getLogger(__name__)
RETRY_FAILED_TICKET = timedelta(minutes=5)


@dataclass
class FollowUps:
    """Runs due status updates; cost follows what is due, not how many tickets exist."""

    db: Database
    policy: RefundPolicy
    clock: Clock
    batch: int = 200

    async def sweep(self) -> int:
        """Handle everything due now; return how many refunds and tickets were handled."""
        handled = await self._drain(self.requests.retry_batch, self.requests.batch)
        handled += await self._drain(self.settle_batch)
        return handled + await self._drain(self.update_batch)

    @property
    def requests(self) -> RefundRequester:
        """Asks the provider again about requests it has not answered."""
        return RefundRequester(self.db, self.policy, self.clock)

    async def _drain(self, run_batch: Callable[[], Awaitable[int]], batch: int | None = None) -> int:
        total = 0
        while True:
            count = await run_batch()
            total += count
            if count < (batch or self.batch):
                return total

    async def update_batch(self) -> int:
        """One batch of due status updates, in one transaction."""
        async with self.db.transaction() as session:
            now = self.clock()
            tickets = await claim_due_updates(session, now=now, limit=self.batch)
            for ticket in tickets:
                reference = ticket.reference
                try:
                    async with session.begin_nested():
                        await follow_up(session, self.policy, ticket, now=now)
                except Exception:
                    log.exception("follow-up of %s failed; retrying in %s", reference, RETRY_FAILED_TICKET)
                    ticket.next_update_at = now + RETRY_FAILED_TICKET
                    session.add(ticket)
            return len(tickets)

    async def settle_batch(self) -> int:
        """One batch of ledger refunds whose settlement delay has passed."""
        async with self.db.transaction() as session:
            now = self.clock()
            due = await due_settlements(session, now=now, limit=self.batch)
            for refund_id, ticket_id in due:
                # Ticket before refund, as everywhere else, so that two instances cannot deadlock.
                ticket = await ticket_by_id(session, ticket_id=ticket_id, lock=True)
                refund = await refund_by_id(session, refund_id=refund_id, lock=True)
                assert ticket is not None and refund is not None  # neither is ever deleted
                if refund.status != RefundStatus.PENDING:
                    continue  # landed or failed meanwhile by another hand
                if not await land_refund(
                    session, self.policy, ticket, refund, actor="ledger:settlement", now=now
                ):
                    refund.settle_at = None  # the ticket moved on; stop settling it
                    session.add(refund)
            return len(due)
