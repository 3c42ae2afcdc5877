"""New charges arrived (live feed or import): watch for repeats, and match waiting tickets again."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.monitor.alerts import alert_merchants_of_a_spike, ask_payers
from handlers.monitor.rematching import WAITING, match_waiting_tickets
from handlers.monitor.repeats import Repeat, find_repeats
from handlers.refunds.refunding import RefundCall, RefundPolicy
from handlers.texts import Texts
from storage.arrivals import what_arrivals_touch
from storage.charge_feed import lock_payers
from storage.models import SuspicionStatus, Transaction, TransactionStatus
from storage.payer_links import LinkedUser, users_linked_to_payers
from storage.refunds import live_refunds_of_charges
from storage.suspicions import record_suspicions
from storage.transactions import charges_with_ids


class Source(StrEnum):
    """Where charges came from; an import of history never alerts payers about old charges."""

    FEED = "feed"
    IMPORT = "import"


@dataclass(frozen=True)
class ChargeWatch:
    """What to do when charges arrive: the monitor's settings and the refund policy for re-matched tickets."""

    policy: RefundPolicy
    texts: Texts
    default_locale: str = "en"
    merchant_admin_ids: tuple[int, ...] = ()
    # Share of the last hour's charges that are suspected duplicates above which merchant admins hear.
    alert_rate: Decimal | None = Decimal("0.05")
    alert_min_charges: int = 20
    alert_period: timedelta = timedelta(hours=1)
    # Payers are not alerted about charges older than this when they arrive (an import of history).
    alert_payers_within: timedelta = timedelta(days=1)
    monitor_on: bool = True

    @property
    def window(self) -> timedelta:
        """Two charges of one payer and amount this close are a suspected duplicate."""
        return self.policy.duplicate_window


async def charges_arrived(
    session: AsyncSession, watch: ChargeWatch, charges: Sequence[Transaction], *,
    now: datetime, source: Source,
) -> list[RefundCall]:
    """Record suspected duplicates among these charges (as just stored), alert, re-match waiting tickets.

    Returns the refund calls recorded (send them after the commit, like every refund). This runs for every
    charge the feed delivers, so when nothing is found it costs one query.
    """
    arrived = [c for c in charges if c.status == TransactionStatus.SUCCEEDED]
    if not arrived:
        return []
    paying = [c for c in arrived if c.payer_id]
    reach = watch.window if watch.monitor_on else timedelta(0)
    moments = [c.created_at for c in paying] or [now]
    if watch.monitor_on:
        # Another request storing a charge of one of these payers waits here until we commit, then sees ours.
        await lock_payers(session, payer_ids=[c.payer_id for c in paying])
    touched = await what_arrivals_touch(
        session, payer_ids=[c.payer_id for c in paying], order_ids=[c.order_id for c in arrived],
        since=min(moments) - reach, until=max(moments) + reach, waiting_statuses=list(WAITING),
    )
    # Waiting tickets first: a repeat whose refund they just recorded is not asked about.
    calls = await match_waiting_tickets(session, watch.policy, touched.waiting_ticket_ids, now=now,
                                        source=source.value)
    if watch.monitor_on and paying:
        await watch_for_repeats(session, watch, paying, touched.nearby_charges, now=now)
    return calls


async def charges_arrived_by_id(
    session: AsyncSession, watch: ChargeWatch, transaction_ids: Sequence[str], *,
    now: datetime, source: Source,
) -> list[RefundCall]:
    """`charges_arrived` for charges known by id (an import)."""
    charges = await charges_with_ids(session, transaction_ids=transaction_ids)
    return await charges_arrived(session, watch, charges, now=now, source=source)


async def watch_for_repeats(
    session: AsyncSession, watch: ChargeWatch, paying: list[Transaction], nearby: list[Transaction], *,
    now: datetime,
) -> None:
    """Record each repeat payment once; ask a linked payer, list the others; tell merchants of a spike.

    `nearby`: every charge of the paying payers within the window of the arrived ones (those included).
    """
    new = {c.transaction_id for c in paying}
    if not find_repeats(nearby, new=new, window=watch.window):
        return  # the usual case, found without asking the database
    # A charge refunded here counts as paid back: a repeat pairs with a payment that stands.
    refunded = await live_refunds_of_charges(session, transaction_ids=[c.transaction_id for c in nearby])
    repeats = find_repeats([c for c in nearby if c.transaction_id not in refunded], new=new,
                           window=watch.window)
    if not repeats:
        return
    linked = await users_linked_to_payers(session, payer_ids=[repeat.payer_id for _, repeat in repeats])
    rows = [_suspicion_row(watch, pair, linked.get(pair[1].payer_id, []), now=now) for pair in repeats]
    users = {user.id: user for users_of_payer in linked.values() for user in users_of_payer}
    orders = {repeat.transaction_id: (before.order_id, repeat.order_id) for before, repeat in repeats}
    zone = watch.policy.schedule.zone
    recorded = await record_suspicions(session, rows=rows)
    asked = [(s, orders[s.transaction_id]) for s in recorded if s.status == SuspicionStatus.ALERTED]
    if asked:
        await ask_payers(session, watch.texts, watch.default_locale, zone, asked, users, now=now)
    if watch.alert_rate is not None and watch.merchant_admin_ids:
        await alert_merchants_of_a_spike(
            session, watch.texts, watch.default_locale, watch.merchant_admin_ids, now=now,
            rate=watch.alert_rate, min_charges=watch.alert_min_charges, period=watch.alert_period,
            window=watch.window,
        )


def _suspicion_row(
    watch: ChargeWatch, pair: Repeat, linked: list[LinkedUser], *, now: datetime
) -> dict[str, object]:
    """The row of a repeat payment: whom to ask (the first Telegram user linked to the payer), if anyone."""
    before, repeat = pair
    if repeat.created_at < now - watch.alert_payers_within:
        status, asked = SuspicionStatus.HISTORIC, None
    elif linked:
        status, asked = SuspicionStatus.ALERTED, linked[0].id
    else:
        status, asked = SuspicionStatus.UNLINKED, None
    return {
        "payer_id": repeat.payer_id,
        "original_transaction_id": before.transaction_id,
        "transaction_id": repeat.transaction_id,
        "amount_minor": repeat.amount_minor,
        "currency": repeat.currency,
        "first_paid_at": before.created_at,
        "paid_at": repeat.created_at,
        "status": status.value,
        "telegram_user_id": asked,
        "detected_at": now,
    }
