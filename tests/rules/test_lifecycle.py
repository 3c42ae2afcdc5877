"""The ticket state machine: every pair of statuses, allowed or refused."""

import itertools

import pytest

from handlers.refunds.lifecycle import ALLOWED, can_move
from storage.models import TicketStatus as S

LEGAL = {
    (S.VERIFIED, S.APPROVED), (S.VERIFIED, S.NEEDS_REVIEW), (S.VERIFIED, S.NEEDS_INFO),
    (S.VERIFIED, S.REJECTED), (S.VERIFIED, S.CANCELLED), (S.VERIFIED, S.REFUNDED),
    (S.NEEDS_REVIEW, S.APPROVED), (S.NEEDS_REVIEW, S.NEEDS_INFO), (S.NEEDS_REVIEW, S.REJECTED),
    (S.NEEDS_REVIEW, S.CANCELLED), (S.NEEDS_REVIEW, S.REFUNDED), (S.NEEDS_REVIEW, S.VERIFIED),
    (S.NEEDS_INFO, S.VERIFIED),
    (S.NEEDS_INFO, S.NEEDS_REVIEW), (S.NEEDS_INFO, S.APPROVED), (S.NEEDS_INFO, S.REJECTED),
    (S.NEEDS_INFO, S.CANCELLED), (S.NEEDS_INFO, S.REFUNDED),
    (S.APPROVED, S.REFUND_PENDING), (S.APPROVED, S.REFUND_FAILED), (S.APPROVED, S.CANCELLED),
    (S.REFUND_PENDING, S.REFUNDED), (S.REFUND_PENDING, S.REFUND_FAILED),
    (S.REFUND_FAILED, S.APPROVED), (S.REFUND_FAILED, S.REFUNDED), (S.REFUND_FAILED, S.REJECTED),
    (S.REFUNDED, S.NEEDS_REVIEW),
}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_every_pair(current, wanted):
    assert can_move(current, wanted) is ((current, wanted) in LEGAL)


def test_the_table_covers_every_status_and_closed_ones_are_final():
    assert set(ALLOWED) == set(S)
    assert ALLOWED[S.REJECTED] == ALLOWED[S.CANCELLED] == frozenset()
    # Only a refund that landed reaches refunded: support re-sends its details from the review states, or
    # records one made outside the bot from a state waiting for a person.
    assert [status for status, targets in ALLOWED.items() if S.REFUNDED in targets] == [
        S.VERIFIED, S.NEEDS_REVIEW, S.NEEDS_INFO, S.REFUND_PENDING, S.REFUND_FAILED]
