"""Refund tickets, the charges they matched and their audit trail."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import Evidence, Ticket, TicketAudit, TicketTransaction
from storage.upsert import insert_ignoring_conflicts


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


async def record_evidence(
    session: AsyncSession, *, sha256: str, mime_type: str, size: int, now: datetime
) -> None:
    """Register stored screenshot bytes (once per hash)."""
    await insert_ignoring_conflicts(
        session,
        table=Evidence.__table__,
        rows=[{"sha256": sha256, "mime_type": mime_type, "size": size, "created_at": now}],
        keys=["sha256"],
    )
