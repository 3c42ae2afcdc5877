"""Which Telegram users the merchant says are which payers."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PayerLink, User
from storage.upsert import insert_ignoring_conflicts, table_of


async def link_payers(session: AsyncSession, *, links: Iterable[tuple[str, int]], source: str,
                      now: datetime) -> None:
    """Record (payer id, Telegram user id) pairs; known pairs are left as they are."""
    rows = [
        {"payer_id": payer_id, "telegram_user_id": user_id, "source": source, "created_at": now}
        for payer_id, user_id in links
    ]
    if rows:
        await insert_ignoring_conflicts(
            session, table=table_of(PayerLink), rows=rows, keys=["payer_id", "telegram_user_id"]
        )


async def payer_ids_linked_to(
    session: AsyncSession, *, telegram_user_id: int, payer_ids: Iterable[str]
) -> set[str]:
    """Those of `payer_ids` that this Telegram user is linked to."""
    wanted = list(payer_ids)
    if not wanted:
        return set()
    query = select(PayerLink.payer_id).where(
        PayerLink.telegram_user_id == telegram_user_id, col(PayerLink.payer_id).in_(wanted)
    )
    return set((await session.exec(query)).all())


async def users_linked_to(session: AsyncSession, *, payer_id: str, source: str | None = None) -> list[int]:
    """The Telegram users linked to this payer (through `source` only, when given), oldest link first."""
    query = select(PayerLink.telegram_user_id).where(PayerLink.payer_id == payer_id)
    if source is not None:
        query = query.where(PayerLink.source == source)
    query = query.order_by(col(PayerLink.created_at), col(PayerLink.telegram_user_id))
    return list((await session.exec(query)).all())


async def payer_ids_of_user(session: AsyncSession, *, telegram_user_id: int) -> list[str]:
    """Every payer id this Telegram user is linked to, in order."""
    query = (
        select(PayerLink.payer_id)
        .where(PayerLink.telegram_user_id == telegram_user_id)
        .order_by(col(PayerLink.payer_id))
    )
    return list((await session.exec(query)).all())


async def lock_payer_links(session: AsyncSession, *, payer_id: str) -> None:
    """Hold this payer's links until the transaction ends, so two links cannot be decided at once.

    PostgreSQL: a transaction-scoped advisory lock keyed by the payer id; SQLite has one writer anyway.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(func.hashtext("payer_links:" + payer_id))))


@dataclass(frozen=True)
class LinkedUser:
    """A Telegram user linked to a payer, and what a message to them needs (locale None: never wrote)."""

    id: int
    locale: str | None
    unreachable: bool


async def users_linked_to_payers(
    session: AsyncSession, *, payer_ids: Iterable[str]
) -> dict[str, list[LinkedUser]]:
    """The Telegram users linked to each of these payers (oldest link first); unlinked payers are left out."""
    wanted = sorted(set(payer_ids))
    if not wanted:
        return {}
    links, users = table_of(PayerLink), table_of(User)
    query = (
        select(links.c.payer_id, links.c.telegram_user_id, users.c.locale, users.c.unreachable)
        .select_from(links.outerjoin(users, users.c.id == links.c.telegram_user_id))
        .where(links.c.payer_id.in_(wanted))
        .order_by(links.c.created_at, links.c.telegram_user_id)
    )
    linked: dict[str, list[LinkedUser]] = {}
    connection = await session.connection()
    for payer_id, user_id, locale, unreachable in (await connection.execute(query)).all():
        linked.setdefault(payer_id, []).append(LinkedUser(user_id, locale, bool(unreachable)))
    return linked
