"""A payer's report in progress, one row per user, locked while an update is handled."""

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, User
from storage.upsert import insert_ignoring_conflicts, table_of
from storage.users import add_user_if_new, note_names

# The user and their conversation in one round trip; only the conversation row is locked (PostgreSQL).
_USER_AND_CONVERSATION = (
    select(User, Conversation)
    .join(Conversation, col(Conversation.user_id) == col(User.id))
    .with_for_update(of=Conversation)
)


async def user_and_conversation(
    session: AsyncSession, *, user_id: int, first_name: str, username: str | None, guessed_locale: str,
    chat_id: int, now: datetime,
) -> tuple[User, Conversation]:
    """The user (names refreshed) and their conversation row, locked for this transaction: one SELECT
    when both exist; on first contact they are created (a user with a guessed locale) and read back."""
    row = (await session.exec(_USER_AND_CONVERSATION.where(User.id == user_id))).first()
    if row is None:
        await add_user_if_new(session, user_id=user_id, first_name=first_name, username=username,
                              guessed_locale=guessed_locale, now=now)
        await _add_conversation_if_new(session, user_id=user_id, chat_id=chat_id, now=now)
        row = (await session.exec(_USER_AND_CONVERSATION.where(User.id == user_id))).one()
    user, conversation = row
    note_names(session, user, first_name=first_name, username=username)
    return user, conversation


async def _add_conversation_if_new(
    session: AsyncSession, *, user_id: int, chat_id: int, now: datetime
) -> None:
    await insert_ignoring_conflicts(
        session,
        table=table_of(Conversation),
        rows=[{"user_id": user_id, "chat_id": chat_id, "updated_at": now}],
        keys=["user_id"],
    )


_STEP = select(Conversation.step).where(col(Conversation.user_id) == bindparam("user_id"))


async def report_step(engine: AsyncEngine, *, user_id: int) -> str | None:
    """A short read outside any transaction (no SQLite write lock): the step of the user's report, if any."""
    async with engine.connect() as connection:
        return (await connection.execute(_STEP, {"user_id": user_id})).scalar()


async def lock_conversation(
    session: AsyncSession, *, user_id: int, chat_id: int, now: datetime
) -> Conversation:
    """Return the user's conversation row, created if missing and locked for this transaction."""
    query = select(Conversation).where(Conversation.user_id == user_id).with_for_update()
    conversation = (await session.exec(query)).first()
    if conversation is not None:
        return conversation
    await _add_conversation_if_new(session, user_id=user_id, chat_id=chat_id, now=now)
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
