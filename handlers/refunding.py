"""From an approved ticket to a refund that lands: creation, status updates, landing, failure."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.durations import Eta
from handlers.events import Button
from handlers.lifecycle import move_ticket
from handlers.money import Money
from handlers.notices import Notifier
from handlers.ports import PaymentProvider, RefundRequest, RefundState
from handlers.texts import format_moment, format_money
from handlers.update_schedule import UpdateSchedule
from storage.models import Refund, RefundStatus, Ticket, TicketStatus, Transaction, User
from storage.refunds import refund_by_reference, refund_of_ticket
from storage.tickets import matches_of, ticket_by_reference

LEDGER = "ledger"


class NoDuplicateCharge(ValueError):
    """The ticket has no matched duplicate charge, so there is nothing that may be refunded."""


@dataclass(frozen=True)
class RefundPolicy:
    """How refunds are made and followed."""

    provider: PaymentProvider
    schedule: UpdateSchedule
    eta: Eta
    notifier: Notifier
    auto_refund_limit: Money | None = None
    eta_by_method: dict[str, Eta] = field(default_factory=dict)

    def eta_for(self, method: str | None) -> Eta:
        """The typical landing time for a payment method (the default for an unknown one)."""
        return self.eta_by_method.get(method or "", self.eta)


def _amount(ticket: Ticket, locale: str) -> str:
    money = Money.from_minor(ticket.amount_minor, ticket.currency)
    return format_money(money.amount, money.currency, locale)


async def _locale(session: AsyncSession, ticket: Ticket) -> str:
    user = await session.get(User, ticket.user_id)
    # The session holds loaded rows weakly; pinning the user spares a SELECT per notice of this ticket.
    session.info.setdefault("pinned_users", {})[ticket.user_id] = user
    return user.locale if user else ticket.locale


async def _when(session: AsyncSession, policy: RefundPolicy, ticket: Ticket, moment: datetime) -> str:
    return format_moment(moment, policy.schedule.zone, await _locale(session, ticket))


def landed_buttons(policy: RefundPolicy, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    """Received / Not yet, and a 1–5 rating."""
    texts = policy.notifier.texts
    data = f"tk:{ticket.reference}"
    return (
        (
            Button(texts.get(locale, "button.received"), f"{data}:received"),
            Button(texts.get(locale, "button.not_yet"), f"{data}:notyet"),
        ),
        tuple(Button("⭐" * n if n < 3 else f"{n}⭐", f"{data}:rate:{n}") for n in range(1, 6)),
    )


def received_button(policy: RefundPolicy, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    """The payer can tell us the money arrived before the provider does."""
    return (
        (Button(policy.notifier.texts.get(locale, "button.received"), f"tk:{ticket.reference}:received"),),
    )


def may_auto_approve(policy: RefundPolicy, ticket: Ticket) -> bool:
    """A confirmed duplicate at most AUTO_REFUND_LIMIT (in that currency) needs no person."""
    limit = policy.auto_refund_limit
    return (
        limit is not None
        and ticket.status == TicketStatus.VERIFIED
        and ticket.currency == limit.currency
        and Decimal(ticket.amount_minor) <= Decimal(limit.minor)
    )


async def approve_and_refund(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, actor: str, now: datetime
) -> Refund:
    """Approve the ticket and refund its duplicate charge (never the original) exactly once."""
    existing = await refund_of_ticket(session, ticket_id=ticket.id)
    if existing is not None:
        return existing
    duplicates = [m for m in await matches_of(session, ticket_id=ticket.id) if m.role == "duplicate"]
    if not duplicates:
        raise NoDuplicateCharge(f"ticket {ticket.reference} has no matched duplicate charge")
    await move_ticket(session, ticket, TicketStatus.APPROVED, actor=actor, note="approved", now=now)
    money = Money.from_minor(ticket.amount_minor, ticket.currency)
    refund = Refund(
        ticket_id=ticket.id,
        reference=ticket.reference,
        transaction_id=duplicates[0].transaction_id,
        amount_minor=ticket.amount_minor,
        currency=ticket.currency,
        provider=policy.provider.name,
        status=RefundStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    state = await policy.provider.create_refund(
        RefundRequest(ticket.reference, refund.transaction_id, money), now=now
    )
    _apply(refund, state, now)
    if state.status == RefundStatus.FAILED:
        await move_ticket(
            session, ticket, TicketStatus.REFUND_FAILED, actor=actor, note=state.failure_reason or "", now=now
        )
        await _tell_failed(session, policy, ticket, state, now)
        return refund
    await move_ticket(
        session,
        ticket,
        TicketStatus.REFUND_PENDING,
        actor=actor,
        note=f"refund via {refund.provider}",
        now=now,
    )
    charge = await session.get(Transaction, refund.transaction_id)
    eta = policy.eta_for(charge.method if charge else None)
    ticket.expected_landing_at = eta.landing_after(now, policy.schedule.zone)
    ticket.updates_sent, ticket.next_update_at = 0, policy.schedule.next_update(now=now, updates_sent=0)
    locale = await _locale(session, ticket)
    await policy.notifier.tell_payer(
        session,
        ticket,
        "notice.refund_started",
        now=now,
        dedupe="refund_started",
        amount=_amount(ticket, locale),
        expected=await _when(session, policy, ticket, ticket.expected_landing_at),
        buttons=received_button(policy, ticket, locale) if refund.provider == LEDGER else (),
    )
    if state.status == RefundStatus.SUCCEEDED:
        await land_refund(
            session, policy, ticket, refund, actor=actor, now=now, bank_reference=state.bank_reference
        )
    return refund


def _apply(refund: Refund, state: RefundState, now: datetime) -> None:
    refund.status, refund.updated_at = state.status.value, now
    refund.failure_reason = state.failure_reason or refund.failure_reason
    refund.bank_reference = state.bank_reference or refund.bank_reference
    refund.settle_at = state.settle_at or refund.settle_at


async def land_refund(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    *,
    actor: str,
    now: datetime,
    bank_reference: str | None = None,
) -> bool:
    """The money arrived (even after a reported failure): close the ticket, ask the payer to confirm and rate.

    False if there was nothing to land (already landed, or the ticket is not waiting for a refund).
    """
    if ticket.status not in (TicketStatus.REFUND_PENDING, TicketStatus.REFUND_FAILED):
        return False
    refund.status, refund.landed_at, refund.updated_at = RefundStatus.SUCCEEDED.value, now, now
    refund.bank_reference = bank_reference or refund.bank_reference
    session.add(refund)
    await move_ticket(
        session, ticket, TicketStatus.REFUNDED, actor=actor, note=refund.bank_reference or "", now=now
    )
    locale = await _locale(session, ticket)
    texts = policy.notifier.texts
    bank = (
        texts.get(locale, "notice.bank_reference", bank_reference=refund.bank_reference)
        if refund.bank_reference
        else ""
    )
    await policy.notifier.tell_payer(
        session,
        ticket,
        "notice.landed",
        now=now,
        dedupe="landed",
        buttons=landed_buttons(policy, ticket, locale),
        amount=_amount(ticket, locale),
        landed=await _when(session, policy, ticket, now),
        bank_reference=bank,
    )
    return True


async def fail_refund(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    state: RefundState,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """The provider gave up: tell the payer honestly and hand the ticket to a person."""
    if ticket.status != TicketStatus.REFUND_PENDING:
        return False
    _apply(refund, state, now)
    session.add(refund)
    await move_ticket(
        session, ticket, TicketStatus.REFUND_FAILED, actor=actor, note=state.failure_reason or "", now=now
    )
    await _tell_failed(session, policy, ticket, state, now)
    return True


async def _tell_failed(
    session, policy: RefundPolicy, ticket: Ticket, state: RefundState, now: datetime
) -> None:
    locale = await _locale(session, ticket)
    reason = state.failure_reason or policy.notifier.texts.get(locale, "refund_failure.unknown")
    await policy.notifier.tell_payer(
        session, ticket, "notice.refund_failed", now=now, dedupe="refund_failed", reason=reason
    )
    await _hand_to_support(session, policy, ticket, "refund_failed", now=now, reason=reason)


async def _hand_to_support(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    event: str,
    *,
    now: datetime,
    **params: object,
) -> None:
    """Post (or redraw) the ticket's card and say in its thread why it needs a person."""
    notifier = policy.notifier
    await notifier.need_person(session, ticket, now=now, reason=event)
    await notifier.tell_support(
        session,
        ticket,
        f"support.{event}",
        now=now,
        dedupe=event,
        amount=_amount(ticket, notifier.support_locale),
        **params,
    )


async def lock_ticket_and_refund(session: AsyncSession, *, reference: str) -> tuple[Ticket, Refund] | None:
    """A ticket and its refund by reference, locked ticket first (the order every writer uses)."""
    ticket = await ticket_by_reference(session, reference=reference, lock=True)
    refund = await refund_by_reference(session, reference=reference, lock=True) if ticket else None
    return (ticket, refund) if refund else None


async def record_provider_state(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    state: RefundState,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Apply what the provider says: landed or failed; False while the refund is still pending."""
    if state.status == RefundStatus.SUCCEEDED:
        await land_refund(
            session, policy, ticket, refund, actor=actor, now=now, bank_reference=state.bank_reference
        )
        return True
    if state.status == RefundStatus.FAILED:
        await fail_refund(session, policy, ticket, refund, state, actor=actor, now=now)
        return True
    return False


async def follow_up(session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, now: datetime) -> None:
    """A due status update: poll the provider first, so a landed refund is reported as landed."""
    refund = await refund_of_ticket(session, ticket_id=ticket.id)
    state = await policy.provider.refund_status(refund, now=now)
    if await record_provider_state(
        session, policy, ticket, refund, state, actor=f"provider:{refund.provider}", now=now
    ):
        return
    locale = await _locale(session, ticket)
    expected = await _when(session, policy, ticket, ticket.expected_landing_at)
    if ticket.escalated_at is None and policy.schedule.is_overdue(
        now=now, expected_landing=ticket.expected_landing_at
    ):
        ticket.escalated_at = now
        await policy.notifier.tell_payer(
            session, ticket, "notice.overdue", now=now, dedupe="overdue", expected=expected
        )
        await _hand_to_support(session, policy, ticket, "overdue", now=now, expected=expected)
    else:
        next_update = policy.schedule.next_update(now=now, updates_sent=ticket.updates_sent + 1)
        await policy.notifier.tell_payer(
            session,
            ticket,
            "notice.still_processing",
            now=now,
            dedupe=f"update:{ticket.updates_sent + 1}",
            amount=_amount(ticket, locale),
            expected=expected,
            next_update=await _when(session, policy, ticket, next_update),
            buttons=received_button(policy, ticket, locale) if refund.provider == LEDGER else (),
        )
    ticket.updates_sent += 1
    ticket.next_update_at = policy.schedule.next_update(now=now, updates_sent=ticket.updates_sent)
    session.add(ticket)
