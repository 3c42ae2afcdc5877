"""The live payment feed: events stored in one transaction, new charges watched, refunds sent after."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from handlers.monitor.arrivals import ChargeWatch, Source, charges_arrived
from handlers.payment_events import EventResult, Outcome, PaymentEvent, plan_events
from handlers.ports import Clock
from handlers.refunds.refunding import RefundCall
from handlers.refunds.requests import send_refund_requests
from storage.charge_feed import add_charges, lock_charges, move_charges
from storage.database import Database

log = logging.getLogger(__name__)
ATTEMPTS = 3  # a request racing another one for a new charge starts over and then sees it


@dataclass(frozen=True)
class FeedReceipt:
    """What a request's events did, one result per event in order."""

    results: list[EventResult]

    def count(self, outcome: Outcome) -> int:
        """How many events had this outcome."""
        return sum(result.outcome is outcome for result in self.results)


async def receive_payment_events(
    db: Database, events: Sequence[PaymentEvent], *, watch: ChargeWatch | None, clock: Clock
) -> FeedReceipt:
    """Store the events all together, tell the watch about charges that just succeeded, then send refunds."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with db.transaction() as session:
                now = clock()
                known = await lock_charges(session, transaction_ids=[e.transaction_id for e in events])
                plan = plan_events(events, known)
                await add_charges(session, rows=plan.new_rows)
                await move_charges(session, rows=plan.changes)
                calls: list[RefundCall] = []
                if watch is not None and plan.succeeded:
                    calls = await charges_arrived(
                        session, watch, plan.succeeded_charges(), now=now, source=Source.FEED
                    )
            break
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
            log.info("payment feed: another request stored one of these charges first; reading again")
    for result in plan.results:
        if result.outcome is Outcome.IGNORED:
            log.info("payment feed: %s ignored: %s", result.event.transaction_id, result.reason)
    if watch is not None:
        await send_refund_requests(db, watch.policy, clock, calls)
    return FeedReceipt(plan.results)
