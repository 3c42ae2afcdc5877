"""The desk's one read of the sender and their conversation: created on first contact, then one SELECT."""

from datetime import UTC, datetime

from storage.conversations import report_step, user_and_conversation
from storage.users import choose_locale, remember_user

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def turn_of(session, *, user_id=7, first_name="Ann", username=None, guessed_locale="en", chat_id=7):
    return await user_and_conversation(session, user_id=user_id, first_name=first_name, username=username,
                                       guessed_locale=guessed_locale, chat_id=chat_id, now=NOW)


async def test_first_contact_creates_both_and_later_turns_keep_what_was_chosen(db):
    async with db.transaction() as session:
        user, conversation = await turn_of(session, guessed_locale="zh", chat_id=70)
        assert (user.id, user.locale, user.locale_chosen, user.first_name) == (7, "zh", False, "Ann")
        assert (conversation.user_id, conversation.chat_id, conversation.step) == (7, 70, None)
        await choose_locale(session, user=user, locale="en")
        conversation.step = "amount"
        session.add(conversation)
    async with db.transaction() as session:
        user, conversation = await turn_of(session, first_name="Ann B", username="ann", guessed_locale="zh")
        assert (user.locale, user.locale_chosen) == ("en", True)
        assert (user.first_name, user.username) == ("Ann B", "ann")
        assert (conversation.step, conversation.chat_id) == ("amount", 70)
    async with db.transaction() as session:
        user, _ = await turn_of(session, first_name="Ann B", username="ann")
        assert user.first_name == "Ann B"
    assert await report_step(db.engine, user_id=7) == "amount"
    assert await report_step(db.engine, user_id=8) is None


async def test_a_known_user_without_a_conversation_gets_one(db):
    async with db.transaction() as session:
        await remember_user(session, user_id=8, first_name="Bo", username=None, guessed_locale="zh", now=NOW)
    async with db.transaction() as session:
        user, conversation = await turn_of(session, user_id=8, first_name="Bo", chat_id=8)
        assert (user.locale, conversation.user_id, conversation.step) == ("zh", 8, None)
