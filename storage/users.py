"""Who talked to the bot, and in which language."""

from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import User
from storage.upsert import insert_ignoring_conflicts, table_of


async def remember_user(
    session: AsyncSession,
    *,
    user_id: int,
    first_name: str,
    username: str | None,
    guessed_locale: str,
    now: datetime,
) -> User:
    """Return the user, creating them with a guessed locale on first contact."""
    user = await session.get(User, user_id)
    if user is None:
        user = await _first_contact(session, user_id=user_id, first_name=first_name, username=username,
                                    guessed_locale=guessed_locale, now=now)
    note_names(session, user, first_name=first_name, username=username)
    return user


def note_names(session: AsyncSession, user: User, *, first_name: str, username: str | None) -> None:
    """Keep the user's name and username as Telegram last showed them."""
    if user.first_name != first_name[:256] or user.username != username:
        user.first_name, user.username = first_name[:256], username
        session.add(user)


async def _first_contact(
    session: AsyncSession, *, user_id: int, first_name: str, username: str | None, guessed_locale: str,
    now: datetime,
) -> User:
    await add_user_if_new(session, user_id=user_id, first_name=first_name, username=username,
                          guessed_locale=guessed_locale, now=now)
    return (await session.exec(select(User).where(User.id == user_id))).one()


async def add_user_if_new(
    session: AsyncSession, *, user_id: int, first_name: str, username: str | None, guessed_locale: str,
    now: datetime,
) -> None:
    """Create the user with a guessed locale unless they exist (an existing row is left as it is)."""
    await insert_ignoring_conflicts(
        session,
        table=table_of(User),
        rows=[
            {
                "id": user_id,
                "first_name": first_name[:256],
                "username": username,
                "locale": guessed_locale,
                "locale_chosen": False,
                "created_at": now,
            }
        ],
        keys=["id"],
    )


async def choose_locale(session: AsyncSession, *, user: User, locale: str) -> None:
    """Record the language the user picked themselves."""
    user.locale, user.locale_chosen = locale, True
    session.add(user)


async def set_reachable(session: AsyncSession, *, user_id: int, reachable: bool) -> None:
    """Record that the user blocked (or unblocked) the bot."""
    user = await session.get(User, user_id)
    if user is not None and user.unreachable == reachable:
        user.unreachable = not reachable
        session.add(user)


async def tip_recipients(session: AsyncSession, *, audience: str) -> list[tuple[int, str]]:
    """The payers a broadcast reaches: subscribed to tips, reachable, in `audience` ("all" or a locale)."""
    query = select(User.id, User.locale).where(col(User.tips).is_(True), col(User.unreachable).is_(False))
    if audience != "all":
        query = query.where(User.locale == audience)
    return [(user_id, locale) for user_id, locale in (await session.exec(query.order_by(col(User.id)))).all()]


async def tip_subscriber_counts(session: AsyncSession) -> dict[str, int]:
    """How many payers each language's broadcast would reach (subscribed and reachable)."""
    query = (
        select(User.locale, func.count())
        .where(col(User.tips).is_(True), col(User.unreachable).is_(False))
        .group_by(User.locale)
    )
    return {locale: count for locale, count in (await session.exec(query)).all()}
