"""Deciding, from the merchant's charges, whether a reported duplicate is real."""

from dataclasses import dataclass
from datetime import datetime, timedelta
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


def _live(charge: Transaction, money: Money, refunded_here: frozenset[str]) -> bool:
    """A succeeded, unrefunded charge of exactly this amount and currency."""
    return (
        charge.status == TransactionStatus.SUCCEEDED
        and charge.transaction_id not in refunded_here
        and (charge.amount_minor, charge.currency) == (money.minor, money.currency)
    )


def match_across_orders(
    reported: Money,
    payer_charges: list[Transaction],
    *,
    anchor: Transaction | None,
    paid_at: datetime,
    window: timedelta,
    refunded_here: frozenset[str] = frozenset(),
) -> Match | None:
    """A payer's two live charges of the reported amount within `window`, whatever their order numbers.

    With an `anchor` (the reported order's charge) the pair includes it; without one, the pair nearest
    `paid_at`. The earlier charge is the original, the later one the duplicate to refund. None if no pair.
    """
    live = sorted(
        (c for c in payer_charges if _live(c, reported, refunded_here)),
        key=lambda c: (c.created_at, c.transaction_id),
    )
    pairs = [
        (earlier, later)
        for i, earlier in enumerate(live)
        for later in live[i + 1:]
        if later.created_at - earlier.created_at <= window
    ]
    if anchor is not None:
        pairs = [p for p in pairs if anchor.transaction_id in (p[0].transaction_id, p[1].transaction_id)]
    if not pairs:
        return None

    def distance(pair: tuple[Transaction, Transaction]) -> tuple[timedelta, timedelta]:
        earlier, later = pair
        if anchor is not None:
            return abs(later.created_at - earlier.created_at), timedelta(0)
        return abs(later.created_at - paid_at), later.created_at - earlier.created_at

    earlier, later = min(pairs, key=distance)
    roles = ((earlier, ChargeRole.ORIGINAL), (later, ChargeRole.DUPLICATE))
    return Match(MatchOutcome.CONFIRMED_DUPLICATE, roles)
