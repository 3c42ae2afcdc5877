"""Deciding, from the merchant's charges, whether a reported duplicate is real."""

from dataclasses import dataclass
from enum import StrEnum

from handlers.money import Money
from storage.models import TicketStatus, Transaction, TransactionStatus


class MatchOutcome(StrEnum):
    """What the charges of an order say about the report."""

    CONFIRMED_DUPLICATE = "confirmed_duplicate"
    NEEDS_A_PERSON = "needs_a_person"
    ALREADY_REFUNDED = "already_refunded"


class ChargeRole(StrEnum):
    """The part a matched charge plays on a ticket."""

    ORIGINAL = "original"
    DUPLICATE = "duplicate"
    REFUNDED = "refunded"
    CANDIDATE = "candidate"


@dataclass(frozen=True)
class Match:
    """The outcome and the charges behind it (for a person to check: every charge of the order)."""

    outcome: MatchOutcome
    charges: tuple[tuple[Transaction, ChargeRole], ...] = ()

    @property
    def ticket_status(self) -> TicketStatus:
        """The status a ticket is filed with."""
        if self.outcome is MatchOutcome.CONFIRMED_DUPLICATE:
            return TicketStatus.VERIFIED
        return TicketStatus.NEEDS_REVIEW


def match_charges(
    reported: Money, order_charges: list[Transaction], refunded_here: frozenset[str] = frozenset()
) -> Match:
    """Two or more succeeded charges of the reported amount on one order confirm a duplicate.

    A charge in `refunded_here` already has a refund through this bot, so it counts as refunded.
    """
    same_amount = [
        c for c in order_charges
        if c.amount_minor == reported.minor and c.currency == reported.currency
    ]

    def is_refunded(charge: Transaction) -> bool:
        return charge.status == TransactionStatus.REFUNDED or charge.transaction_id in refunded_here

    succeeded = [c for c in same_amount if c.status == TransactionStatus.SUCCEEDED and not is_refunded(c)]
    refunded = [c for c in same_amount if is_refunded(c)]
    if len(succeeded) >= 2:
        roles = [ChargeRole.ORIGINAL] + [ChargeRole.DUPLICATE] * (len(succeeded) - 1)
        return Match(MatchOutcome.CONFIRMED_DUPLICATE, tuple(zip(succeeded, roles, strict=True)))
    if len(succeeded) == 1 and refunded:
        charges = ((succeeded[0], ChargeRole.ORIGINAL), *((c, ChargeRole.REFUNDED) for c in refunded))
        return Match(MatchOutcome.ALREADY_REFUNDED, charges)
    return Match(MatchOutcome.NEEDS_A_PERSON, tuple((c, ChargeRole.CANDIDATE) for c in order_charges))
