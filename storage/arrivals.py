"""What newly arrived charges touch, read in one round trip: the payers' nearby charges, waiting tickets."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Integer, String, bindparam, cast, null, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PayerLink, Ticket, Transaction
from storage.types import UTCDateTime
from storage.upsert import table_of

_CHARGES, _TICKETS, _LINKS = table_of(Transaction), table_of(Ticket), table_of(PayerLink)
_CHARGE_COLUMNS = (
    "transaction_id", "order_id", "payer_id", "amount_minor", "currency", "status", "created_at", "method"
)


@dataclass(frozen=True)
class Touched:
    """The charges of the arrived charges' payers near their times; the waiting tickets they may confirm."""

    nearby_charges: list[Transaction]
    waiting_ticket_ids: list[int]


def _touched_query() -> CompoundSelect[Any]:
    """Built once: the feed runs it on every request, and building a statement costs more than running it."""
    no_ticket = cast(null(), Integer).label("ticket_id")
    charges = select(*(_CHARGES.c[name] for name in _CHARGE_COLUMNS), no_ticket).where(
        _CHARGES.c.payer_id.in_(bindparam("payers", expanding=True)),
        _CHARGES.c.created_at >= bindparam("since", type_=UTCDateTime()),
        _CHARGES.c.created_at <= bindparam("until", type_=UTCDateTime()),
    )
    linked_users = select(_LINKS.c.telegram_user_id).where(
        _LINKS.c.payer_id.in_(bindparam("linked_payers", expanding=True))
    )
    tickets = select(
        *(cast(null(), String).label(name) for name in _CHARGE_COLUMNS[:3]),
        cast(null(), Integer).label("amount_minor"), cast(null(), String).label("currency"),
        cast(null(), String).label("status"), cast(null(), UTCDateTime()).label("created_at"),
        cast(null(), String).label("method"), _TICKETS.c.id.label("ticket_id"),
    ).where(
        _TICKETS.c.status.in_(bindparam("statuses", expanding=True)),
        _TICKETS.c.order_id.in_(bindparam("orders", expanding=True)) | _TICKETS.c.user_id.in_(linked_users),
    )
    return union_all(charges, tickets)


_TOUCHED = _touched_query()


async def what_arrivals_touch(
    session: AsyncSession, *, payer_ids: Sequence[str], since: datetime, until: datetime,
    order_ids: Sequence[str], waiting_statuses: Sequence[str],
) -> Touched:
    """One query, because it runs for every charge the live feed delivers (and almost always finds nothing).

    Nearby charges: those of `payer_ids` made in [since, until]. Waiting tickets: in `waiting_statuses`,
    about one of `order_ids` or reported by a Telegram user linked to one of `payer_ids`.
    """
    payers = sorted(set(payer_ids))
    parameters = {"payers": payers, "linked_payers": payers, "since": since, "until": until,
                  "orders": sorted(set(order_ids)), "statuses": list(waiting_statuses)}
    connection = await session.connection()
    rows = (await connection.execute(_TOUCHED, parameters)).mappings().all()
    nearby = [Transaction.model_construct(**{name: row[name] for name in _CHARGE_COLUMNS})
              for row in rows if row["ticket_id"] is None]
    nearby.sort(key=lambda c: (c.created_at, c.transaction_id))
    return Touched(nearby, sorted(row["ticket_id"] for row in rows if row["ticket_id"] is not None))
