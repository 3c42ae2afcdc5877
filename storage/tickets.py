"""Refund tickets, the charges they matched and their audit trail."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CompoundSelect, delete, union
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.database import first
from storage.models import (
    CLOSED_STATUSES,
    Conversation,
    Evidence,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketAudit,
    TicketTransaction,
)
from storage.upsert import insert_statement, table_of


def open_order_key(*, user_id: int, order_id: str) -> str:
    """The key that allows one open ticket per user and order."""
    return f"{user_id}:{order_id}"


async def open_ticket_for_order(
    session: AsyncSession, *, user_id: int, order_id: str
) -> Ticket | None:
    """The user's open ticket for this order, if any."""
    key = open_order_key(user_id=user_id, order_id=order_id)
    return (await session.exec(select(Ticket).where(Ticket.open_order_key == key))).first()


async def ticket_by_reference(session: AsyncSession, *, reference: str, lock: bool = False) -> Ticket | None:
    """A ticket by its reference, optionally locked for this transaction."""
    return await first(session, select(Ticket).where(Ticket.reference == reference), lock=lock)


async def ticket_by_id(session: AsyncSession, *, ticket_id: int, lock: bool = False) -> Ticket | None:
    """A ticket by id, optionally locked."""
    return await first(session, select(Ticket).where(Ticket.id == ticket_id), lock=lock)


async def ticket_by_report_key(session: AsyncSession, *, report_key: str) -> Ticket | None:
    """The ticket a report was filed as, if it was filed."""
    query = select(Ticket).where(Ticket.report_key == report_key)
    return (await session.exec(query)).first()


async def add_ticket(
    session: AsyncSession,
    *,
    ticket: Ticket,
    matches: Sequence[tuple[str, str]],
    actor: str,
    now: datetime,
) -> Ticket:
    """File a ticket with its matched charges (id, role) and the audit row of its birth."""
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None  # the flush gave it one
    for transaction_id, role in matches:
        session.add(
            TicketTransaction(ticket_id=ticket.id, transaction_id=transaction_id, role=role)
        )
    session.add(
        TicketAudit(ticket_id=ticket.id, actor=actor, from_status=None, to_status=ticket.status,
                    note="filed", at=now)
    )
    return ticket


async def tickets_of_user(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[Ticket]:
    """A user's tickets, newest first."""
    query = (
        select(Ticket)
        .where(Ticket.user_id == user_id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def all_tickets(session: AsyncSession) -> list[Ticket]:
    """Every ticket, oldest first."""
    return list((await session.exec(select(Ticket).order_by(col(Ticket.id)))).all())


async def matches_of(session: AsyncSession, *, ticket_id: int) -> list[TicketTransaction]:
    """The charges matched to a ticket."""
    query = select(TicketTransaction).where(TicketTransaction.ticket_id == ticket_id)
    return list((await session.exec(query)).all())


async def audit_of(session: AsyncSession, *, ticket_id: int) -> list[TicketAudit]:
    """A ticket's audit trail, oldest first."""
    query = (
        select(TicketAudit).where(TicketAudit.ticket_id == ticket_id).order_by(col(TicketAudit.id))
    )
    return list((await session.exec(query)).all())


# --- evidence: screenshots kept by hash, their uploaders' quota, and what nothing refers to any more ---


async def record_evidence(
    session: AsyncSession, *, sha256: str, mime_type: str, size: int, uploaded_by: int | None, now: datetime
) -> None:
    """Register stored screenshot bytes once per hash; receiving them again only moves `created_at` to now.

    The first sender stays `uploaded_by`. Moving `created_at` locks the row, so a clean-up deleting it at
    the same moment either waits and then spares it (it is young again) or goes first and the row is made
    anew.
    """
    statement = insert_statement(session, table_of(Evidence)).values(
        sha256=sha256, mime_type=mime_type, size=size, uploaded_by=uploaded_by, created_at=now
    )
    refreshed = {"created_at": statement.excluded.created_at}
    await session.exec(statement.on_conflict_do_update(index_elements=["sha256"], set_=refreshed))


async def evidence_by_sha256(session: AsyncSession, *, sha256: str) -> Evidence | None:
    """The evidence row of these bytes, if they are stored."""
    return await session.get(Evidence, sha256)


async def unfiled_evidence_bytes(session: AsyncSession, *, user_id: int) -> int:
    """How many bytes of screenshots the user first sent are stored and on none of their tickets."""
    filed = select(Ticket.evidence_sha256).where(
        Ticket.user_id == user_id, col(Ticket.evidence_sha256).is_not(None)
    )
    query = select(func.coalesce(func.sum(Evidence.size), 0)).where(
        Evidence.uploaded_by == user_id, col(Evidence.sha256).not_in(filed)
    )
    return int((await session.exec(query)).one())


LIVE_OUTBOX = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def _references(among: Sequence[str] | None = None) -> list[SelectOfScalar[str | None]]:
    """Hashes tickets, reports in progress and messages still to be sent refer to (of `among`, if given)."""
    queries: list[SelectOfScalar[str | None]] = []
    for column, *condition in (
        (Ticket.evidence_sha256,),
        (Conversation.evidence_sha256,),
        (OutboxMessage.photo_sha256, col(OutboxMessage.status).in_(LIVE_OUTBOX)),
    ):
        query = select(col(column)).where(col(column).is_not(None), *condition)
        queries.append(query if among is None else query.where(col(column).in_(among)))
    return queries


async def delete_unreferenced_evidence(
    session: AsyncSession, *, received_before: datetime, limit: int
) -> list[tuple[str, int, int | None]]:
    """Delete up to `limit` rows received before then that nothing refers to: (sha256, size, uploader)."""
    unreferenced = (
        select(Evidence.sha256)
        .where(Evidence.created_at < received_before, col(Evidence.sha256).not_in(union(*_references())))
        .limit(limit)
    )
    statement = (
        delete(Evidence)
        .where(col(Evidence.sha256).in_(unreferenced), col(Evidence.created_at) < received_before)
        .returning(col(Evidence.sha256), col(Evidence.size), col(Evidence.uploaded_by))
    )
    return [tuple(row) for row in (await session.exec(statement)).all()]


async def hashes_in_use(session: AsyncSession, *, sha256s: Sequence[str]) -> set[str]:
    """Those of the hashes with an evidence row, or that a ticket, report or unsent message refers to."""
    if not sha256s:
        return set()
    recorded = select(Evidence.sha256).where(col(Evidence.sha256).in_(sha256s))
    in_use: CompoundSelect[str | None] = union(recorded, *_references(among=sha256s))
    # SQLModel's exec overloads leave out compound selects (UNION), which it runs like any other statement.
    return set((await session.exec(in_use)).scalars().all())  # type: ignore[call-overload]


async def count_open_tickets(session: AsyncSession, *, user_id: int) -> int:
    """How many of the user's tickets are not closed yet."""
    query = select(func.count()).select_from(Ticket).where(
        Ticket.user_id == user_id, col(Ticket.status).not_in([s.value for s in CLOSED_STATUSES])
    )
    return (await session.exec(query)).one()


async def recent_filing_times(
    session: AsyncSession, *, user_id: int, since: datetime, limit: int
) -> list[datetime]:
    """When the user filed tickets after `since`, newest first, at most `limit` of them."""
    query = (
        select(Ticket.created_at)
        .where(Ticket.user_id == user_id, Ticket.created_at > since)
        .order_by(col(Ticket.created_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class FilingRecord:
    """What the per-payer limits and filing look at: open tickets, recent filings, open order keys."""

    open_count: int
    recent: list[datetime]  # newest first, at most the limit asked for
    open_order_keys: frozenset[str]


async def filing_record(
    session: AsyncSession, *, user_id: int, since: datetime, limit: int
) -> FilingRecord:
    """count_open_tickets, recent_filing_times and the user's open_order_keys, in one query."""
    closed = [s.value for s in CLOSED_STATUSES]
    query = select(Ticket.status, Ticket.created_at, Ticket.open_order_key).where(
        Ticket.user_id == user_id,
        or_(col(Ticket.status).not_in(closed), Ticket.created_at > since,
            col(Ticket.open_order_key).is_not(None)),
    )
    rows = (await session.exec(query)).all()
    recent = sorted((created for _, created, _ in rows if created > since), reverse=True)
    return FilingRecord(
        open_count=sum(status not in closed for status, _, _ in rows),
        recent=recent[:limit],
        open_order_keys=frozenset(key for _, _, key in rows if key is not None),
    )


async def replace_matches(
    session: AsyncSession, *, ticket_id: int, matches: Sequence[tuple[str, str]]
) -> None:
    """Match the ticket to these charges (id, role) instead of the ones it had."""
    await session.exec(delete(TicketTransaction).where(col(TicketTransaction.ticket_id) == ticket_id))
    for transaction_id, role in matches:
        session.add(TicketTransaction(ticket_id=ticket_id, transaction_id=transaction_id, role=role))
