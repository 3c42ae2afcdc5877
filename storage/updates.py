"""Telegram updates already handled (at-least-once delivery becomes exactly-once)."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate
from storage.upsert import insert_ignoring_conflicts, table_of


async def claim_update(session: AsyncSession, *, update_id: int, now: datetime) -> bool:
    """Mark an update as handled; False if it was handled (or is being handled) already."""
    inserted = await insert_ignoring_conflicts(
        session,
        table=table_of(ProcessedUpdate),
        rows=[{"update_id": update_id, "processed_at": now}],
        keys=["update_id"],
    )
    return inserted == 1


async def forget_updates_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete at most `limit` handled-update rows older than `before`, oldest ids first; return how many."""
    oldest = (
        select(ProcessedUpdate.update_id)
        .where(ProcessedUpdate.processed_at < before)
        .order_by(col(ProcessedUpdate.update_id))
        .limit(limit)
    )
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.update_id).in_(oldest)))
    return result.rowcount
