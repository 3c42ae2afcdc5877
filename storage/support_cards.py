"""Support cards, agents' pending prompts, and what a card shows about a ticket."""

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import AgentPrompt, SupportCard, Ticket, TicketStatus, TicketTransaction, Transaction
from storage.upsert import insert_ignoring_conflicts, table_of


async def card_of(session: AsyncSession, *, ticket_id: int, lock: bool = False) -> SupportCard | None:
    """The ticket's card, if it was posted."""
    return await first(session, select(SupportCard).where(SupportCard.ticket_id == ticket_id), lock=lock)


async def reserve_card(
    session: AsyncSession, *, ticket_id: int, chat_id: int, status: str, now: datetime
) -> None:
    """The ticket's card row, written empty before its topic and message exist (kept if there is one)."""
    row = {"ticket_id": ticket_id, "chat_id": chat_id, "thread_id": None, "message_id": None,
           "with_photo": False, "assigned_to": None, "assigned_name": None, "last_actor_name": None,
           "shown_status": status, "touched_at": now, "sla_pings": 0, "created_at": now}
    await insert_ignoring_conflicts(session, table=table_of(SupportCard), rows=[row], keys=["ticket_id"])


async def card_in_thread(
    session: AsyncSession, *, chat_id: int, thread_id: int | None, reply_to: int | None
) -> SupportCard | None:
    """The card a group message belongs to: by its topic, or by replying to the card."""
    conditions = []
    if thread_id is not None:
        conditions.append(SupportCard.thread_id == thread_id)
    if reply_to is not None:
        conditions.append(SupportCard.message_id == reply_to)
    if not conditions:
        return None
    query = select(SupportCard).where(SupportCard.chat_id == chat_id, or_(*conditions))
    return (await session.exec(query)).first()


async def charges_of_ticket(session: AsyncSession, *, ticket_id: int) -> list[tuple[Transaction, str]]:
    """The charges matched to a ticket with their roles, oldest first."""
    query = (
        select(Transaction, TicketTransaction.role)
        .join(TicketTransaction, col(TicketTransaction.transaction_id) == col(Transaction.transaction_id))
        .where(TicketTransaction.ticket_id == ticket_id)
        .order_by(col(Transaction.created_at))
    )
    return [(charge, role) for charge, role in (await session.exec(query)).all()]


async def other_tickets_with_screenshot(session: AsyncSession, *, sha256: str, ticket_id: int) -> list[str]:
    """References of other tickets that carry the same screenshot."""
    query = select(Ticket.reference).where(Ticket.evidence_sha256 == sha256, Ticket.id != ticket_id)
    return list((await session.exec(query)).all())


async def reports_since(session: AsyncSession, *, user_id: int, since: datetime) -> int:
    """How many tickets a user filed since a moment."""
    query = (
        select(func.count()).select_from(Ticket).where(Ticket.user_id == user_id, Ticket.created_at >= since)
    )
    return (await session.exec(query)).one()


async def cards_out_of_date(session: AsyncSession, *, limit: int) -> list[tuple[SupportCard, Ticket]]:
    """Cards that show another status than their ticket has (or were marked for a redraw)."""
    query = (
        select(SupportCard, Ticket)
        .join(Ticket, col(Ticket.id) == col(SupportCard.ticket_id))
        .where(or_(col(SupportCard.shown_status).is_(None), col(SupportCard.shown_status) != Ticket.status))
        .where(col(SupportCard.message_id).is_not(None))  # a card not yet posted is the outbox's to post
        .limit(limit)
        .with_for_update(of=SupportCard, skip_locked=True)
    )
    return [(card, ticket) for card, ticket in (await session.exec(query)).all()]


async def cards_past_sla(
    session: AsyncSession, *, now: datetime, sla: timedelta, statuses: frozenset[str], limit: int
) -> list[tuple[SupportCard, Ticket]]:
    """Cards of tickets waiting for a person, untouched for the SLA (first ping) or twice it (second)."""
    query = (
        select(SupportCard, Ticket)
        .join(Ticket, col(Ticket.id) == col(SupportCard.ticket_id))
        .where(
            col(Ticket.status).in_(statuses), SupportCard.sla_pings < 2, SupportCard.touched_at <= now - sla
        )
        .order_by(col(SupportCard.touched_at))
        .limit(limit)
        .with_for_update(of=SupportCard, skip_locked=True)
    )
    rows = (await session.exec(query)).all()
    return [(card, ticket) for card, ticket in rows if card.touched_at + sla * (card.sla_pings + 1) <= now]


async def set_prompt(
    session: AsyncSession, *, agent_id: int, ticket_id: int, action: str, now: datetime
) -> None:
    """The agent's next message on this ticket drafts a rejection reason or a question (their only prompt)."""
    await session.exec(delete(AgentPrompt).where(col(AgentPrompt.agent_id) == agent_id))
    session.add(AgentPrompt(agent_id=agent_id, ticket_id=ticket_id, action=action, created_at=now))


async def prompt_of(session: AsyncSession, *, agent_id: int, lock: bool = False) -> AgentPrompt | None:
    """The agent's one pending prompt (on whichever ticket), if any."""
    return await first(session, select(AgentPrompt).where(AgentPrompt.agent_id == agent_id), lock=lock)


async def prompts_on_ticket(session: AsyncSession, *, ticket_id: int) -> list[AgentPrompt]:
    """Every agent's pending prompt on a ticket."""
    query = select(AgentPrompt).where(AgentPrompt.ticket_id == ticket_id)
    return list((await session.exec(query)).all())


async def ticket_awaiting_answer(session: AsyncSession, *, user_id: int) -> Ticket | None:
    """The payer's ticket on which support asked a question, if any (newest first)."""
    query = (
        select(Ticket)
        .where(Ticket.user_id == user_id, Ticket.status == TicketStatus.NEEDS_INFO)
        .order_by(col(Ticket.updated_at).desc())
        .with_for_update()
    )
    return (await session.exec(query)).first()
