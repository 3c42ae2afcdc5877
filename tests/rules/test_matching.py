"""Which reports are confirmed duplicates, which need a person, which were already refunded."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from handlers.matching import ChargeRole, MatchOutcome, match_charges
from handlers.money import Money
from storage.models import TicketStatus, Transaction

T0 = datetime(2026, 11, 25, 6, 32, tzinfo=UTC)


def charge(n: int, amount: str = "99.00", status: str = "succeeded", currency: str = "CNY") -> Transaction:
    return Transaction(transaction_id=f"tx{n}", order_id="A1", payer_id="p", currency=currency,
                       amount_minor=Money(Decimal(amount), currency).minor, status=status,
                       created_at=T0 + timedelta(seconds=n))


REPORTED = Money(Decimal("99.00"), "CNY")


@pytest.mark.parametrize(
    ("charges", "outcome"),
    [
        ([charge(1), charge(2)], MatchOutcome.CONFIRMED_DUPLICATE),
        ([charge(1), charge(2), charge(3)], MatchOutcome.CONFIRMED_DUPLICATE),
        ([charge(1)], MatchOutcome.NEEDS_A_PERSON),
        ([], MatchOutcome.NEEDS_A_PERSON),
        ([charge(1), charge(2, "98.00")], MatchOutcome.NEEDS_A_PERSON),
        ([charge(1), charge(2, status="failed")], MatchOutcome.NEEDS_A_PERSON),
        ([charge(1), charge(2, status="pending")], MatchOutcome.NEEDS_A_PERSON),
        ([charge(1), charge(2, currency="USD")], MatchOutcome.NEEDS_A_PERSON),
        ([charge(1), charge(2, status="refunded")], MatchOutcome.ALREADY_REFUNDED),
    ],
)
def test_outcomes(charges, outcome):
    assert match_charges(REPORTED, charges).outcome is outcome


def test_the_first_charge_is_the_original_and_later_ones_are_duplicates():
    match = match_charges(REPORTED, [charge(1), charge(2), charge(3, "5.00")])
    assert [(c.transaction_id, role) for c, role in match.charges] == [
        ("tx1", ChargeRole.ORIGINAL), ("tx2", ChargeRole.DUPLICATE)]
    assert match.ticket_status is TicketStatus.VERIFIED


def test_unconfirmed_reports_keep_every_charge_of_the_order_for_a_person():
    match = match_charges(REPORTED, [charge(1), charge(2, "98.00")])
    assert match.ticket_status is TicketStatus.NEEDS_REVIEW
    assert [(c.transaction_id, role) for c, role in match.charges] == [
        ("tx1", ChargeRole.CANDIDATE), ("tx2", ChargeRole.CANDIDATE)]
