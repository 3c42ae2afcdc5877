"""Charges an agent may name as a ticket's duplicate: its order's, and its payer's of the amount near then."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.cross_order import DAY, TYPED_TIME_SLACK, nearby_charges
from handlers.matching import ChargeRole
from handlers.money import Money
from storage.models import Refund, Ticket, TicketStatus, Transaction, TransactionStatus, id_of
from storage.payer_links import payer_ids_of_user
from storage.refunds import live_refunds_of_charges
from storage.tickets import matches_of
from storage.transactions import charges_of_order, charges_with_ids

# The statuses whose card lists candidates: a person is still looking for the duplicate.
CANDIDATE_STATUSES = frozenset({TicketStatus.NEEDS_REVIEW, TicketStatus.NEEDS_INFO})
MAX_CANDIDATES = 50  # looked at (and resolvable by a button); a card shows SHOWN of them
SHOWN = 5
DEFAULT_WINDOW = timedelta(minutes=10)  # RefundPolicy.duplicate_window's default


@dataclass(frozen=True)
class Candidate:
    """One charge that could be the ticket's duplicate, and what stands in the way of refunding it."""

    charge: Transaction
    role: str | None  # its part on the ticket, if it is matched
    refund: Refund | None  # its live refund through this bot (any ticket)
    refundable: bool  # succeeded, of the ticket's amount and currency, without a live refund
    tag: str


def charge_tag(reference: str, transaction_id: str) -> str:
    """Names a charge of one ticket in button data (a transaction id may be too long for 64 bytes)."""
    return hashlib.sha256(f"{reference}:{transaction_id}".encode()).hexdigest()[:10]


def short_transaction(transaction_id: str) -> str:
    """A transaction id short enough for a card line: its head and its tail."""
    return transaction_id if len(transaction_id) <= 12 else f"{transaction_id[:4]}…{transaction_id[-6:]}"


def masked_payer(payer_id: str) -> str:
    """A payer id as a card shows it: a long one (an openid, an account) masked but recognisable."""
    if not payer_id:
        return "—"
    return payer_id if len(payer_id) <= 8 else f"{payer_id[:2]}…{payer_id[-4:]}"


def reach_of(ticket: Ticket, window: timedelta) -> timedelta:
    """How far from the reported time a payer's charge is looked for: their time is approximate."""
    return window + (DAY if ticket.paid_on_day_only else TYPED_TIME_SLACK)


async def candidate_charges(session: AsyncSession, ticket: Ticket, *, window: timedelta) -> list[Candidate]:
    """The order's (and matched) charges first, then the payer's others of the amount, nearest the time first.

    The payer is every payer id the order's charges name and every one the reporter is linked to.
    """
    roles = {match.transaction_id: match.role for match in await matches_of(session, ticket_id=id_of(ticket))}
    own = await charges_of_order(session, order_id=ticket.order_id) if ticket.order_id else []
    own += await charges_with_ids(session, transaction_ids=list(set(roles) - {c.transaction_id for c in own}))
    payer_ids = {c.payer_id for c in own if c.payer_id}
    payer_ids |= set(await payer_ids_of_user(session, telegram_user_id=ticket.user_id))
    money = Money.from_minor(ticket.amount_minor, ticket.currency)
    nearby = await nearby_charges(
        session, payer_ids=payer_ids, money=money, around=ticket.paid_at, reach=reach_of(ticket, window)
    )
    known = {c.transaction_id for c in own}
    others = sorted(
        (c for c in nearby if c.transaction_id not in known),
        key=lambda c: (abs(c.created_at - ticket.paid_at), c.transaction_id),
    )
    charges = [*sorted(own, key=lambda c: (c.created_at, c.transaction_id)), *others][:MAX_CANDIDATES]
    refunds = await live_refunds_of_charges(session, transaction_ids=[c.transaction_id for c in charges])
    return [
        Candidate(
            charge=charge,
            role=roles.get(charge.transaction_id),
            refund=refunds.get(charge.transaction_id),
            refundable=is_refundable(charge, ticket) and charge.transaction_id not in refunds,
            tag=charge_tag(ticket.reference, charge.transaction_id),
        )
        for charge in charges
    ]


def is_refundable(charge: Transaction, ticket: Ticket) -> bool:
    """Paid, at exactly the ticket's amount and currency."""
    return charge.status == TransactionStatus.SUCCEEDED and (charge.amount_minor, charge.currency) == (
        ticket.amount_minor,
        ticket.currency,
    )


def shown(candidates: list[Candidate]) -> list[Candidate]:
    """What a card lists: the first SHOWN candidates, in time order."""
    return sorted(candidates[:SHOWN], key=lambda c: (c.charge.created_at, c.charge.transaction_id))


def new_roles(roles: dict[str, str], candidates: list[Candidate], picked: Candidate) -> list[tuple[str, str]]:
    """The ticket's matches (id, role) once an agent names `picked` as its duplicate.

    The other paid charge of the same amount without a refund, the one already called original if it is one,
    else the nearest in time, becomes the original; every former original or duplicate becomes a candidate.
    """
    twins = [c for c in candidates if c.refundable and c.tag != picked.tag]
    twins.sort(key=lambda c: (
        c.role != ChargeRole.ORIGINAL, abs(c.charge.created_at - picked.charge.created_at),
    ))
    original = twins[0].charge.transaction_id if twins else None
    chosen = {picked.charge.transaction_id: ChargeRole.DUPLICATE.value}
    if original is not None:
        chosen[original] = ChargeRole.ORIGINAL.value
    demoted = {ChargeRole.ORIGINAL.value, ChargeRole.DUPLICATE.value}
    kept = {tx: ChargeRole.CANDIDATE.value if role in demoted else role for tx, role in roles.items()}
    return sorted({**kept, **chosen}.items())
