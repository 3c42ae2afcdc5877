"""A merchant's broadcast being composed: one draft per merchant, its step and choices so far."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import first
from storage.models import BroadcastDraft


async def draft_of(session: AsyncSession, *, merchant_id: int, lock: bool = False) -> BroadcastDraft | None:
    """The merchant's draft, optionally locked for this transaction (a double tap confirms once)."""
    query = select(BroadcastDraft).where(BroadcastDraft.merchant_id == merchant_id)
    return await first(session, query, lock=lock)


async def start_draft(
    session: AsyncSession, *, merchant_id: int, step: str, key: str, now: datetime
) -> BroadcastDraft:
    """A fresh draft at `step` with a new key, replacing any earlier one of this merchant."""
    draft = await draft_of(session, merchant_id=merchant_id, lock=True)
    if draft is None:
        draft = BroadcastDraft(merchant_id=merchant_id, step=step, key=key, updated_at=now)
    else:
        draft.step, draft.key, draft.updated_at = step, key, now
        draft.tip_number = draft.text_en = draft.text_zh = draft.audience = draft.scheduled_at = None
    session.add(draft)
    await session.flush()
    return draft


async def drop_draft(session: AsyncSession, *, merchant_id: int) -> bool:
    """Delete the merchant's draft; whether there was one."""
    result = await session.exec(delete(BroadcastDraft).where(col(BroadcastDraft.merchant_id) == merchant_id))
    return bool(result.rowcount)
