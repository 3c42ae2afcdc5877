"""Which Telegram users the merchant says are which payers."""

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PayerLink
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
