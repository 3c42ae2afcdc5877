"""Sending recorded refund requests to the provider, outside any database transaction, until it answers."""

import logging
from dataclasses import dataclass
from enum import StrEnum

from handlers.ports import Clock, ProviderError, RefundState
from handlers.refunds.refunding import (
    ANSWER_WAIT,
    RefundCall,
    RefundPolicy,
    call_of,
    lock_ticket_and_refund,
    record_no_answer,
    record_provider_state,
    request_refund,
)
from storage.database import Database
from storage.models import Refund, RefundStatus, Ticket
from storage.refunds import claim_unanswered_requests
from storage.tickets import ticket_by_reference

log = logging.getLogger(__name__)


class Answer(StrEnum):
    """What became of a sent request, for whoever is waiting on it."""

    PENDING = "pending"  # accepted; the money is on its way
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # no answer: the request may or may not have gone through; it will be asked again


@dataclass(frozen=True)
class Sent:
    """The answer and the refund as recorded afterwards."""

    answer: Answer
    refund: Refund | None


@dataclass
class RefundRequester:
    """Calls the provider with the request's fixed key, then records the answer in a new transaction."""

    db: Database
    policy: RefundPolicy
    clock: Clock
    batch: int = 50

    async def send(self, call: RefundCall) -> Sent:
        """Ask the provider once; a timeout or network error leaves the refund requested (unknown)."""
        state: RefundState | None = None
        error = ""
        try:
            state = await self.policy.provider.create_refund(call.request, now=self.clock())
        except ProviderError as failure:
            error = str(failure)
        except Exception as failure:  # whatever broke, we cannot know whether the provider got it
            log.exception("refund %s: the provider call broke", call.request.reference)
            error = f"{type(failure).__name__}"
        async with self.db.transaction() as session:
            now = self.clock()
            locked = await lock_ticket_and_refund(session, reference=call.request.reference)
            if locked is None:
                return Sent(Answer.UNKNOWN, None)
            ticket, refund = locked
            if state is None:
                if refund.status == RefundStatus.REQUESTED:
                    log.warning("refund %s: no answer from the provider (%s); will ask again",
                                call.request.reference, error)
                    await record_no_answer(session, self.policy, ticket, refund, now=now)
            else:
                await record_provider_state(
                    session, self.policy, ticket, refund, state, actor=f"provider:{refund.provider}", now=now
                )
            return Sent(_answer_of(refund), refund)

    async def send_all(self, calls: list[RefundCall]) -> list[Sent]:
        """Send calls recorded by a committed transaction, one after another."""
        return [await self.send(call) for call in calls]

    async def retry_batch(self) -> int:
        """Claim unanswered requests that are due, push their next try out, then send each again."""
        async with self.db.transaction() as session:
            now = self.clock()
            due = await claim_unanswered_requests(session, now=now, limit=self.batch)
            for refund in due:
                refund.next_attempt_at = now + ANSWER_WAIT  # ours while we call; another instance waits
                session.add(refund)
            calls = [call_of(refund) for refund in due]
        await self.send_all(calls)
        return len(calls)


async def approve_and_send(
    db: Database, policy: RefundPolicy, clock: Clock, *, reference: str, actor: str
) -> tuple[Ticket, Sent]:
    """Approve a ticket by reference, commit the request, then send it: the whole three-step refund.

    Raises LookupError for an unknown ticket, and whatever `request_refund` refuses with.
    """
    async with db.transaction() as session:
        ticket = await ticket_by_reference(session, reference=reference, lock=True)
        if ticket is None:
            raise LookupError(f"no ticket {reference}")
        call = await request_refund(session, policy, ticket, actor=actor, now=clock())
    [sent] = await RefundRequester(db, policy, clock).send_all([call])
    async with db.transaction() as session:
        ticket = await ticket_by_reference(session, reference=reference)
    assert ticket is not None  # tickets are never deleted
    return ticket, sent


async def send_refund_requests(
    db: Database, policy: RefundPolicy | None, clock: Clock, calls: list[RefundCall]
) -> list[Sent]:
    """Send what a committed turn recorded; if this fails, the sweep sends it again with the same key."""
    if not calls or policy is None:
        return []
    try:
        return await RefundRequester(db, policy, clock).send_all(calls)
    except Exception:
        log.exception("sending %d refund request(s) failed; the sweep will retry them", len(calls))
        return [Sent(Answer.UNKNOWN, None) for _ in calls]


def _answer_of(refund: Refund) -> Answer:
    return {
        RefundStatus.PENDING: Answer.PENDING,
        RefundStatus.SUCCEEDED: Answer.SUCCEEDED,
        RefundStatus.FAILED: Answer.FAILED,
    }.get(RefundStatus(refund.status), Answer.UNKNOWN)
