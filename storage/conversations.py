"""A payer's report in progress, one row per user, locked while an update is handled."""

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation
from storage.upsert import insert_ignoring_conflicts, table_of


async def lock_conversation(
    session: AsyncSession, *, user_id: int, chat_id: int, now: datetime
) -> Conversation:
    """Return the user's conversation row, created if missing and locked for this transaction."""
    query = select(Conversation).where(Conversation.user_id == user_id).with_for_update()
    conversation = (await session.exec(query)).first()
    if conversation is not None:
        return conversation
    await insert_ignoring_conflicts(
        session,
        table=table_of(Conversation),
        rows=[{"user_id": user_id, "chat_id": chat_id, "updated_at": now}],
        keys=["user_id"],
    )
    return (await session.exec(query)).one()


def clear_report(conversation: Conversation, *, now: datetime) -> None:
    """Forget every collected field: the payer is back at the menu."""
    for field in (
        "step", "report_key", "order_id", "amount_minor", "currency", "paid_at",
        "evidence_sha256", "evidence_media_group",
    ):
        setattr(conversation, field, None)
    conversation.order_skipped = conversation.paid_on_day_only = False
    conversation.back_to_review = False
    conversation.updated_at = now
