"""From an approved ticket to a refund that lands: creation, status updates, landing, failure."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import STARS, TicketAction, TicketButton
from handlers.delivery.notices import Notifier
from handlers.durations import Eta
from handlers.events import Button
from handlers.matching import ChargeRole
from handlers.money import Money
from handlers.ports import PaymentProvider, RefundRequest, RefundState
from handlers.refunds.lifecycle import move_ticket
from handlers.refunds.status_schedule import UpdateSchedule
from handlers.texts import format_moment, format_money
from storage.models import (
    PayerCheck,
    Refund,
    RefundStatus,
    Ticket,
    TicketStatus,
    Transaction,
    TransactionStatus,
    User,
    id_of,
)
from storage.refunds import live_refunds_of_charges, refund_by_id, refund_by_reference, refund_of_ticket
from storage.tickets import matches_of, ticket_by_id

log = logging.getLogger(__name__)
LEDGER = "ledger"
# A recorded request is sent at once; if that sender dies, the sweep sends it again after this wait.
ANSWER_WAIT = timedelta(minutes=2)
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 10, 20, 30))
TELL_SUPPORT_AFTER = 3  # unanswered tries before support is told the provider is silent
WITHDRAWN = "withdrawn: "  # the failure reason of an attempt stopped because an earlier one succeeded


class NoDuplicateCharge(ValueError):
    """The ticket has no matched duplicate charge, so there is nothing that may be refunded."""


class ChargeChanged(NoDuplicateCharge):
    """The merchant's records no longer show the matched duplicate as paid at the ticket's amount."""


class OriginalRefunded(ChargeChanged):
    """The payment the duplicate repeats was refunded meanwhile: refunding the duplicate pays back both."""


@dataclass(frozen=True)
class RefundPolicy:
    """How refunds are made and followed."""

    provider: PaymentProvider
    schedule: UpdateSchedule
    eta: Eta
    notifier: Notifier
    auto_refund_limit: Money | None = None
    eta_by_method: dict[str, Eta] = field(default_factory=dict)
    # Two successful charges of one payer and amount this close are a duplicate, whatever their orders.
    duplicate_window: timedelta = timedelta(minutes=10)

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

    def data(action: TicketAction, stars: int | None = None) -> str:
        return TicketButton(ticket.reference, action, stars).pack()

    return (
        (
            Button(texts.get(locale, "button.received"), data(TicketAction.RECEIVED)),
            Button(texts.get(locale, "button.not_yet"), data(TicketAction.NOT_YET)),
        ),
        tuple(Button("⭐" * n if n < 3 else f"{n}⭐", data(TicketAction.RATE, n)) for n in STARS),
    )


def received_button(policy: RefundPolicy, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    """The payer can tell us the money arrived before the provider does."""
    return (
        (
            Button(
                policy.notifier.texts.get(locale, "button.received"),
                TicketButton(ticket.reference, TicketAction.RECEIVED).pack(),
            ),
        ),
    )


def may_auto_approve(policy: RefundPolicy, ticket: Ticket) -> bool:
    """A confirmed duplicate, reported by its payer, at most AUTO_REFUND_LIMIT needs no person."""
    limit = policy.auto_refund_limit
    return (
        limit is not None
        and ticket.status == TicketStatus.VERIFIED
        and ticket.payer_check != PayerCheck.NOT_LINKED
        and ticket.currency == limit.currency
        and Decimal(ticket.amount_minor) <= Decimal(limit.minor)
    )


async def approve_if_allowed(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, now: datetime, reason: str
) -> "RefundCall | None":
    """Auto-approve a small confirmed duplicate of the payer's own; everything else goes to a person.

    Returns the refund call to send after the commit, if one was recorded.
    """
    if may_auto_approve(policy, ticket):
        try:
            return await request_refund(session, policy, ticket, actor="policy:auto-approve", now=now)
        except (RefundExists, ChargeAlreadyRefunded, NoDuplicateCharge):
            pass  # a racing ticket took the charge: a person sorts this one out
    await policy.notifier.need_person(session, ticket, now=now, reason=reason)
    return None


class RefundExists(Exception):
    """The ticket already has a refund that has not failed; nothing new may be requested."""

    def __init__(self, refund: Refund):
        super().__init__(f"ticket already has refund {refund.idempotency_key} ({refund.status})")
        self.refund = refund


class ChargeAlreadyRefunded(Exception):
    """The duplicate charge already has a refund (through another ticket, or a racing one)."""

    def __init__(self, refund: Refund | None):
        super().__init__("the duplicate charge already has a refund")
        self.refund = refund


@dataclass(frozen=True)
class RefundCall:
    """A recorded refund request, to be sent to the provider once its transaction has committed."""

    refund_id: int
    reference: str
    request: RefundRequest


def refund_key(reference: str, attempt: int) -> str:
    """The idempotency key of an attempt: the ticket reference, then `-2`, `-3` … for retries."""
    return reference if attempt == 1 else f"{reference}-{attempt}"


def call_of(refund: Refund) -> RefundCall:
    """The provider call of a recorded refund."""
    money = Money.from_minor(refund.amount_minor, refund.currency)
    request = RefundRequest(refund.idempotency_key, refund.transaction_id, money)
    return RefundCall(id_of(refund), refund.reference, request)


async def request_refund(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, actor: str, now: datetime
) -> RefundCall:
    """Approve the (locked) ticket and record a refund request for its duplicate charge, never the original.

    The provider is not called here: commit first, then send the returned call (the key is fixed now).
    Raises RefundExists, ChargeAlreadyRefunded or NoDuplicateCharge (ChargeChanged when the merchant's
    records no longer show the duplicate as paid at the ticket's amount), having changed nothing.
    """
    latest = await refund_of_ticket(session, ticket_id=id_of(ticket))
    if latest is not None and latest.status != RefundStatus.FAILED:
        raise RefundExists(latest)
    matches = await matches_of(session, ticket_id=id_of(ticket))
    duplicates = [m.transaction_id for m in matches if m.role == ChargeRole.DUPLICATE]
    if not duplicates:
        raise NoDuplicateCharge(f"ticket {ticket.reference} has no matched duplicate charge")
    taken = await live_refunds_of_charges(session, transaction_ids=duplicates)
    free = [charge for charge in duplicates if charge not in taken]
    if not free:
        raise ChargeAlreadyRefunded(next(iter(taken.values())))
    # The records may have been re-imported since filing (e.g. the merchant refunded the charge by hand).
    free = [charge for charge in free if _still_refundable(await session.get(Transaction, charge), ticket)]
    if not free:
        raise ChargeChanged(f"ticket {ticket.reference}: its duplicate charge changed in the records")
    originals = [m.transaction_id for m in matches if m.role == ChargeRole.ORIGINAL]
    if await refunded_charges(session, originals):
        raise OriginalRefunded(f"ticket {ticket.reference}: the payment its duplicate repeats was refunded")
    attempt = latest.attempt + 1 if latest else 1
    try:
        async with session.begin_nested():
            note = "approved" if attempt == 1 else f"refund retried (attempt {attempt})"
            await move_ticket(session, ticket, TicketStatus.APPROVED, actor=actor, note=note, now=now)
            refund = Refund(
                ticket_id=id_of(ticket),
                reference=ticket.reference,
                attempt=attempt,
                idempotency_key=refund_key(ticket.reference, attempt),
                transaction_id=free[0],
                amount_minor=ticket.amount_minor,
                currency=ticket.currency,
                provider=policy.provider.name,
                status=RefundStatus.REQUESTED,
                next_attempt_at=now + ANSWER_WAIT,
                created_at=now,
                updated_at=now,
            )
            session.add(refund)
            await session.flush()
    except IntegrityError:
        # Another transaction refunded this charge between our check and our insert.
        await session.refresh(ticket)
        raise ChargeAlreadyRefunded(None) from None
    return call_of(refund)


async def refunded_charges(session: AsyncSession, transaction_ids: list[str]) -> set[str]:
    """Those of these charges refunded (or being refunded) here, or not paid in the merchant's records."""
    refunded = set(await live_refunds_of_charges(session, transaction_ids=transaction_ids))
    for transaction_id in set(transaction_ids) - refunded:
        charge = await session.get(Transaction, transaction_id)
        if charge is not None and charge.status != TransactionStatus.SUCCEEDED:
            refunded.add(transaction_id)
    return refunded


def _still_refundable(charge: Transaction | None, ticket: Ticket) -> bool:
    """The records do not contradict the match: the charge is paid, at the ticket's amount and currency."""
    if charge is None:  # charges are never deleted; a ticket filed by hand may name one not imported
        return True
    return charge.status == TransactionStatus.SUCCEEDED and (charge.amount_minor, charge.currency) == (
        ticket.amount_minor,
        ticket.currency,
    )


async def start_refund(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, refund: Refund, *, actor: str, now: datetime
) -> None:
    """The provider accepted the request: the refund is on its way; tell the payer when to expect it."""
    note = f"refund via {refund.provider}"
    await move_ticket(session, ticket, TicketStatus.REFUND_PENDING, actor=actor, note=note, now=now)
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
        dedupe=_per_attempt("refund_started", refund.attempt),
        amount=_amount(ticket, locale),
        expected=await _when(session, policy, ticket, ticket.expected_landing_at),
        buttons=received_button(policy, ticket, locale) if refund.provider == LEDGER else (),
    )


def _bank_line(policy: RefundPolicy, locale: str, refund: Refund) -> str:
    """The bank reference sentence of a notice, when the provider gave one."""
    if not refund.bank_reference:
        return ""
    return policy.notifier.texts.get(locale, "notice.bank_reference", bank_reference=refund.bank_reference)


def _per_attempt(event: str, attempt: int) -> str:
    """A notice's dedupe key: one per refund attempt (the first keeps the plain name)."""
    return event if attempt == 1 else f"{event}:{attempt}"


def _apply(refund: Refund, state: RefundState, now: datetime) -> None:
    refund.status, refund.updated_at, refund.next_attempt_at = state.status.value, now, None
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
    refund.next_attempt_at = None
    refund.bank_reference = bank_reference or refund.bank_reference
    session.add(refund)
    await move_ticket(
        session, ticket, TicketStatus.REFUNDED, actor=actor, note=refund.bank_reference or "", now=now
    )
    locale = await _locale(session, ticket)
    await policy.notifier.tell_payer(
        session,
        ticket,
        "notice.landed",
        now=now,
        dedupe="landed",
        buttons=landed_buttons(policy, ticket, locale),
        amount=_amount(ticket, locale),
        landed=await _when(session, policy, ticket, now),
        bank_reference=_bank_line(policy, locale, refund),
    )
    return True


async def resend_refund_details(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    *,
    actor: str,
    now: datetime,
    dedupe: str,
) -> None:
    """The payer doubts a landed refund: close the ticket again and send its date and bank reference."""
    note = "refund details sent again"
    await move_ticket(session, ticket, TicketStatus.REFUNDED, actor=actor, note=note, now=now)
    locale = await _locale(session, ticket)
    await policy.notifier.tell_payer(
        session,
        ticket,
        "notice.refund_details",
        now=now,
        dedupe=dedupe,
        buttons=landed_buttons(policy, ticket, locale),
        amount=_amount(ticket, locale),
        landed=await _when(session, policy, ticket, refund.landed_at or refund.updated_at),
        bank_reference=_bank_line(policy, locale, refund),
    )


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
    if ticket.status not in (TicketStatus.APPROVED, TicketStatus.REFUND_PENDING):
        return False
    _apply(refund, state, now)
    session.add(refund)
    await move_ticket(
        session, ticket, TicketStatus.REFUND_FAILED, actor=actor, note=state.failure_reason or "", now=now
    )
    await _tell_failed(session, policy, ticket, state, now)
    return True


async def _tell_failed(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, state: RefundState, now: datetime
) -> None:
    locale = await _locale(session, ticket)
    reason = state.failure_reason or policy.notifier.texts.get(locale, "refund_failure.unknown")
    latest = await refund_of_ticket(session, ticket_id=id_of(ticket))
    assert latest is not None  # the refund that failed
    dedupe = _per_attempt("refund_failed", latest.attempt)
    await policy.notifier.tell_payer(
        session, ticket, "notice.refund_failed", now=now, dedupe=dedupe, reason=reason
    )
    await _hand_to_support(session, policy, ticket, "refund_failed", now=now, dedupe=dedupe, reason=reason)


async def _hand_to_support(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    event: str,
    *,
    now: datetime,
    dedupe: str | None = None,
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
        dedupe=dedupe or event,
        photo_sha256=None,
        amount=_amount(ticket, notifier.support_locale),
        **params,
    )


async def lock_ticket_and_refund(session: AsyncSession, *, reference: str) -> tuple[Ticket, Refund] | None:
    """A ticket and its refund by refund key or ticket reference, locked ticket first (as every writer)."""
    unlocked = await refund_by_reference(session, reference=reference)
    if unlocked is None:
        return None
    ticket = await ticket_by_id(session, ticket_id=unlocked.ticket_id, lock=True)
    refund = await refund_by_id(session, refund_id=id_of(unlocked), lock=True)
    assert ticket is not None and refund is not None  # neither is ever deleted
    return ticket, refund


async def land_by_reference(
    session: AsyncSession,
    policy: RefundPolicy,
    *,
    reference: str,
    bank_reference: str | None,
    now: datetime,
    actor: str = "operator:cli",
) -> Ticket | None:
    """Land the ticket's latest attempt (named by ticket reference or key); None if nothing may land."""
    locked = await lock_ticket_and_refund(session, reference=reference)
    if locked is None:
        return None
    ticket, _named = locked
    # A ticket reference is also its first attempt's key: after a retry, the operator means the live one.
    latest = await refund_of_ticket(session, ticket_id=id_of(ticket), lock=True)
    assert latest is not None  # a locked refund exists
    if latest.status not in (RefundStatus.PENDING, RefundStatus.FAILED):
        return None  # requested: nobody accepted it yet; succeeded: landed already
    landed = await land_refund(session, policy, ticket, latest, actor=actor, now=now,
                               bank_reference=bank_reference)
    return ticket if landed else None


class Applied(StrEnum):
    """What a provider's word did to a refund."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"  # said before: nothing to do
    CONFLICT = "conflict"  # contradicts what is recorded (e.g. failed after succeeded): ignored


async def record_provider_state(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    state: RefundState,
    *,
    actor: str,
    now: datetime,
) -> Applied:
    """Apply what the provider says about a (locked) refund, whoever brings the news and in whatever order."""
    current, wanted = RefundStatus(refund.status), state.status
    if wanted is RefundStatus.REQUESTED:
        return Applied.CONFLICT
    if current is wanted:
        return Applied.UNCHANGED
    if current is RefundStatus.REQUESTED:
        _apply(refund, RefundState(RefundStatus.PENDING, settle_at=state.settle_at), now)
        if wanted is RefundStatus.FAILED:
            await fail_refund(session, policy, ticket, refund, state, actor=actor, now=now)
            return Applied.CHANGED
        await start_refund(session, policy, ticket, refund, actor=actor, now=now)
        current = RefundStatus.PENDING
        if wanted is RefundStatus.PENDING:
            return Applied.CHANGED
    if wanted is RefundStatus.SUCCEEDED and current in (RefundStatus.PENDING, RefundStatus.FAILED):
        latest = await refund_of_ticket(session, ticket_id=id_of(ticket))
        assert latest is not None  # at least `refund` itself
        if latest.id == refund.id and await land_refund(
            session, policy, ticket, refund, actor=actor, now=now, bank_reference=state.bank_reference
        ):
            return Applied.CHANGED
        return await _late_success(session, policy, ticket, refund, state, actor=actor, now=now)
    if wanted is RefundStatus.FAILED and current is RefundStatus.PENDING:
        if await fail_refund(session, policy, ticket, refund, state, actor=actor, now=now):
            return Applied.CHANGED
    withdrawn = refund.failure_reason or ""
    if wanted is RefundStatus.PENDING and withdrawn.startswith(WITHDRAWN):
        # We withdrew this attempt after an earlier one succeeded, but the provider took it after all.
        earlier = withdrawn.removeprefix(WITHDRAWN).split(" ", 1)[0]
        await _warn_double_refund(session, policy, ticket, refund, other_key=earlier, now=now)
    return Applied.CONFLICT


async def _late_success(
    session: AsyncSession,
    policy: RefundPolicy,
    ticket: Ticket,
    refund: Refund,
    state: RefundState,
    *,
    actor: str,
    now: datetime,
) -> Applied:
    """A success for an attempt the ticket moved past (a retry, a rejection): the money moved, so record it.

    A newer attempt the provider has not answered is withdrawn and never sent again. If another refund
    of the charge was accepted, the charge may be refunded twice: support is told, nothing is recorded.
    """
    newer = await refund_of_ticket(session, ticket_id=id_of(ticket), lock=True)
    assert newer is not None  # at least `refund` itself
    if newer.id != refund.id and newer.status == RefundStatus.REQUESTED:
        _apply(newer, RefundState(RefundStatus.FAILED, f"{WITHDRAWN}{refund.idempotency_key} succeeded"), now)
        session.add(newer)
        await session.flush()  # frees the charge before this attempt becomes its live refund
        note = f"{newer.idempotency_key} withdrawn: {refund.idempotency_key} succeeded"
        await move_ticket(session, ticket, TicketStatus.REFUND_FAILED, actor=actor, note=note, now=now)
    live = await live_refunds_of_charges(session, transaction_ids=[refund.transaction_id])
    others = [r for r in (live.get(refund.transaction_id), newer) if r and r.id != refund.id]
    other = next((r for r in others if r.status != RefundStatus.FAILED), None)
    if other is not None:
        await _warn_double_refund(session, policy, ticket, refund, other_key=other.idempotency_key, now=now)
        return Applied.CONFLICT
    if not await land_refund(
        session, policy, ticket, refund, actor=actor, now=now, bank_reference=state.bank_reference
    ):  # the ticket is closed (e.g. rejected): the charge is refunded all the same, never again
        refund.status, refund.landed_at, refund.updated_at = RefundStatus.SUCCEEDED.value, now, now
        refund.bank_reference = state.bank_reference or refund.bank_reference
        session.add(refund)
    await _hand_to_support(session, policy, ticket, "late_success", now=now,
                           dedupe=f"late_success:{refund.attempt}", refund_key=refund.idempotency_key)
    return Applied.CHANGED


async def _warn_double_refund(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, refund: Refund, *, other_key: str,
    now: datetime,
) -> None:
    """Two attempts on one charge were both taken by the provider: support must recover one."""
    log.error("refund %s: taken by the provider while %s was too: possible double refund",
              refund.idempotency_key, other_key)
    await _hand_to_support(session, policy, ticket, "double_refund", now=now,
                           dedupe=f"double_refund:{refund.attempt}", refund_key=refund.idempotency_key,
                           other=other_key)


async def record_no_answer(
    session: AsyncSession, policy: RefundPolicy, ticket: Ticket, refund: Refund, *, now: datetime
) -> None:
    """The provider did not answer: the outcome is unknown, so ask again later with the same key."""
    refund.requests_sent += 1
    refund.next_attempt_at = now + retry_delay(refund.requests_sent)
    refund.updated_at = now
    session.add(refund)
    if refund.requests_sent == TELL_SUPPORT_AFTER:
        await _hand_to_support(
            session, policy, ticket, "provider_silent", now=now, dedupe=f"provider_silent:{refund.attempt}",
            tries=refund.requests_sent,
        )


def retry_delay(requests_sent: int) -> timedelta:
    """How long to wait before asking again: 1, 5, 10, 20, then every 30 minutes."""
    return RETRY_DELAYS[min(requests_sent, len(RETRY_DELAYS)) - 1]


async def follow_up(session: AsyncSession, policy: RefundPolicy, ticket: Ticket, *, now: datetime) -> None:
    """A due status update: poll the provider first, so a landed refund is reported as landed."""
    refund = await refund_of_ticket(session, ticket_id=id_of(ticket), lock=True)
    assert refund is not None  # a ticket waiting for its refund has one
    state = await policy.provider.refund_status(refund, now=now)
    if state.status != RefundStatus.PENDING and await record_provider_state(
        session, policy, ticket, refund, state, actor=f"provider:{refund.provider}", now=now
    ) is Applied.CHANGED:
        return
    locale = await _locale(session, ticket)
    assert ticket.expected_landing_at is not None  # set when its refund started
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
