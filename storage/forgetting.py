"""Deleting what the bot keeps about one person; the merchant's refund records stay, without the person."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, event, union, update
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import (
    CLOSED_STATUSES,
    Conversation,
    Evidence,
    OutboxMessage,
    OutboxStatus,
    PayerLink,
    SuspectedDuplicate,
    Ticket,
    TicketAudit,
    User,
)

# Tickets keep a user and chat id (the columns are NOT NULL); a forgotten person's tickets point at nobody.
NOBODY = 0
FORGOTTEN_ACTOR = "payer:forgotten"
# The turn's own User and Conversation objects are detached from the session, not marked deleted.
UNSYNCHRONIZED = {"execution_options": {"synchronize_session": False}}


@dataclass(frozen=True)
class Forgotten:
    """What deleting a person removed: the evidence files to delete once the transaction has committed."""

    evidence_sha256s: list[str]
    tickets_kept: int


async def lock_user(session: AsyncSession, *, user_id: int) -> User | None:
    """The user's row as committed now, locked for this transaction (None if already deleted)."""
    return await first(session, select(User).where(User.id == user_id), lock=True)


async def open_tickets_of(session: AsyncSession, *, user_id: int) -> list[Ticket]:
    """Every ticket of the user that is not closed, locked, oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.user_id == user_id, col(Ticket.status).not_in([s.value for s in CLOSED_STATUSES]))
        .order_by(col(Ticket.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(query)).all())


async def references_of(session: AsyncSession, *, user_id: int) -> list[str]:
    """The references of all the user's tickets, oldest first."""
    query = select(Ticket.reference).where(Ticket.user_id == user_id).order_by(col(Ticket.id))
    return list((await session.exec(query)).all())


async def forget_person(session: AsyncSession, *, user_id: int, chat_ids: Iterable[int]) -> Forgotten:
    """Delete the person's own rows and take their identity off the rows the merchant keeps.

    Deleted: the user row, the report in progress, every outbox message to their chats, the links to the
    merchant's payer ids, the evidence rows they uploaded that nothing else refers to. Kept, pointing at
    nobody: their tickets (with matches, audit trail and refunds), evidence on tickets, suspected duplicates.
    Ticket states are the caller's business (open tickets are closed first).
    """
    await session.flush()  # pending changes to the rows deleted below must not be written after them
    chats = sorted({user_id, *chat_ids})
    await session.exec(delete(Conversation).where(col(Conversation.user_id) == user_id), **UNSYNCHRONIZED)
    await session.exec(delete(OutboxMessage).where(col(OutboxMessage.chat_id).in_(chats)))
    await session.exec(delete(PayerLink).where(col(PayerLink.telegram_user_id) == user_id))
    await session.exec(
        update(SuspectedDuplicate)
        .where(col(SuspectedDuplicate.telegram_user_id) == user_id)
        .values(telegram_user_id=None)
    )
    ticket_ids = select(Ticket.id).where(Ticket.user_id == user_id)
    await session.exec(
        update(TicketAudit)
        .where(col(TicketAudit.ticket_id).in_(ticket_ids), col(TicketAudit.actor) == f"payer:{user_id}")
        .values(actor=FORGOTTEN_ACTOR)
    )
    kept = await session.exec(
        update(Ticket).where(col(Ticket.user_id) == user_id).values(user_id=NOBODY, chat_id=NOBODY)
    )
    evidence = await _delete_own_evidence(session, user_id=user_id)
    await session.exec(update(Evidence).where(col(Evidence.uploaded_by) == user_id).values(uploaded_by=None))
    await session.exec(delete(User).where(col(User.id) == user_id), **UNSYNCHRONIZED)
    for row in list(session.identity_map.values()):
        if isinstance(row, User | Conversation) and _belongs_to(row, user_id):
            session.expunge(row)  # its row is gone: the turn may still read it, nothing writes it back
    return Forgotten(evidence, kept.rowcount)


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed (never if it rolls back)."""

    def run(_: Session) -> None:
        action()

    event.listen(session.sync_session, "after_commit", run, once=True)


def _belongs_to(row: User | Conversation, user_id: int) -> bool:
    return (row.id if isinstance(row, User) else row.user_id) == user_id


async def _delete_own_evidence(session: AsyncSession, *, user_id: int) -> list[str]:
    """Delete the evidence rows the user uploaded that no ticket, report or unsent message refers to."""
    in_use = union(
        select(col(Ticket.evidence_sha256)).where(col(Ticket.evidence_sha256).is_not(None)),
        select(col(Conversation.evidence_sha256)).where(col(Conversation.evidence_sha256).is_not(None)),
        select(col(OutboxMessage.photo_sha256)).where(
            col(OutboxMessage.photo_sha256).is_not(None),
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        ),
    )
    statement = (
        delete(Evidence)
        .where(col(Evidence.uploaded_by) == user_id, col(Evidence.sha256).not_in(in_use))
        .returning(col(Evidence.sha256))
    )
    return [sha256 for (sha256,) in (await session.exec(statement)).all()]
