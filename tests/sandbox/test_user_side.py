"""The user side: sending, pressing, waiting, groups, forum topics and resets."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import InaccessibleMessage, InlineKeyboardButton, InlineKeyboardMarkup

from telegram_sandbox import SandboxClient, TelegramSandbox
from telegram_sandbox.client import SandboxError
from tests.sandbox.helpers import GROUP_ID, OTHER_USER_ID, TOKEN, FakeClock, aiogram_bot


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data=data)]])


async def test_deliver_twice_repeats_the_same_update_id(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await client.send_text(user, "pay 10 EUR", deliver_twice=True)
    updates = await bot.get_updates(timeout=0)
    assert [update.update_id for update in updates] == [sent["update_id"], sent["update_id"]]
    assert updates[0].message is not None and updates[1].message is not None
    assert updates[0].message.message_id == updates[1].message.message_id
    assert await bot.get_updates(offset=sent["update_id"] + 1, timeout=0) == []


async def test_press_is_validated_against_the_current_keyboard(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await bot.send_message(user, "Confirm?", reply_markup=keyboard("confirm"))
    with pytest.raises(SandboxError, match="no inline button with callback_data 'cancel'") as raised:
        await client.press(user, sent.message_id, "cancel")
    assert raised.value.status == 400
    await bot.edit_message_reply_markup(
        chat_id=user, message_id=sent.message_id, reply_markup=keyboard("confirm:v2")
    )
    with pytest.raises(SandboxError, match="no inline button"):
        await client.press(user, sent.message_id, "confirm")  # the old keyboard is gone
    user_message = await client.send_text(user, "hi")
    with pytest.raises(SandboxError, match="was not sent by the bot"):
        await client.press(user, user_message["message"]["message_id"], "confirm")
    pressed = await client.press(user, sent.message_id, "confirm:v2")
    assert pressed["update_id"] == user_message["update_id"] + 1


async def test_forged_press_reaches_the_bot(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "Confirm?", reply_markup=keyboard("confirm"))
    await client.press(user, sent.message_id, "admin:refund_all", forge=True)
    await client.press(user, 999, "ghost", forge=True)
    updates = await bot.get_updates(timeout=0)
    queries = [update.callback_query for update in updates]
    assert [query.data for query in queries if query] == ["admin:refund_all", "ghost"]
    assert queries[1] is not None and queries[1].message is not None
    assert isinstance(queries[1].message, InaccessibleMessage)


async def test_callback_answer_only_once_and_only_soon(
    clock: FakeClock, limited_sandbox: TelegramSandbox
) -> None:
    bot = aiogram_bot(limited_sandbox.url)
    try:
        async with SandboxClient(limited_sandbox.url) as client:
            await client.create_user(1)
            sent = await bot.send_message(1, "Go?", reply_markup=keyboard("go"))
            first = await client.press(1, sent.message_id, "go")
            assert await bot.answer_callback_query(first["callback_query_id"]) is True
            with pytest.raises(TelegramBadRequest, match="query is too old"):
                await bot.answer_callback_query(first["callback_query_id"])
            late = await client.press(1, sent.message_id, "go")
            clock.advance(16)
            with pytest.raises(TelegramBadRequest, match="query is too old"):
                await bot.answer_callback_query(late["callback_query_id"])
    finally:
        await bot.session.close()


async def test_wait_times_out_with_408_and_what_arrived(
    sandbox: TelegramSandbox, bot: Bot, client: SandboxClient, user: int
) -> None:
    await bot.send_message(user, "only one")
    with pytest.raises(TimeoutError, match=r"got 1: \['only one'\]"):
        await client.wait_for_bot_messages(user, count=2, timeout=0.2)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sandbox.url}/sandbox/chats/{user}/wait",
            params={"after_message_id": 0, "count": 2, "timeout": 0.1},
        ) as response,
    ):
        assert response.status == 408
        assert [message["text"] for message in await response.json()] == ["only one"]
    assert [m["text"] for m in await client.wait_for_bot_messages(user, timeout=0.1)] == ["only one"]


async def test_wait_edit_times_out_without_an_edit(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "v1")
    with pytest.raises(TimeoutError, match="was not edited"):
        await client.wait_for_edit(user, sent.message_id, timeout=0.1)
    await bot.edit_message_text("v2", chat_id=user, message_id=sent.message_id)
    edited = await client.wait_for_edit(user, sent.message_id, timeout=0.1)
    assert edited["text"] == "v2"
    with pytest.raises(TimeoutError):
        await client.wait_for_edit(user, sent.message_id, since_edit=1, timeout=0.1)


async def test_groups_need_members_and_a_sender(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.create_user(OTHER_USER_ID, first_name="Agent")
    created = await client.create_group(GROUP_ID, "Refund desk", member_ids=[user])
    assert created["chat"] == {"id": GROUP_ID, "type": "supergroup", "title": "Refund desk"}
    with pytest.raises(SandboxError, match=r"from .* is required"):
        await client.send_text(GROUP_ID, "hello")
    with pytest.raises(SandboxError, match="not a member"):
        await client.send_text(GROUP_ID, "hello", from_id=OTHER_USER_ID)
    sent = await client.send_text(GROUP_ID, "/refund@refund_assistant_bot 42", from_id=user)
    assert sent["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 28}]
    reply = await bot.send_message(GROUP_ID, "On it", reply_to_message_id=sent["message"]["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/refund@refund_assistant_bot 42"
    admins = await bot.get_chat_administrators(GROUP_ID)
    assert [admin.status for admin in admins] == ["creator", "administrator"]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "administrator"


async def test_a_group_can_have_the_bot_as_a_plain_member(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.create_group(GROUP_ID, "Refund desk", member_ids=[user], bot_status="member")
    me = await bot.get_me()
    assert (await bot.get_chat_member(GROUP_ID, me.id)).status == "member"
    assert [admin.status for admin in await bot.get_chat_administrators(GROUP_ID)] == ["creator"]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    with pytest.raises(SandboxError, match="bot_status"):
        await client.create_group(GROUP_ID, "Refund desk", member_ids=[user], bot_status="owner")


async def test_forum_topics(bot: Bot, client: SandboxClient, user: int) -> None:
    await client.create_group(GROUP_ID, "Disputes", is_forum=True, member_ids=[user])
    topic = await bot.create_forum_topic(GROUP_ID, "Case 17")
    assert topic.name == "Case 17" and topic.message_thread_id > 0
    sent = await bot.send_message(GROUP_ID, "Evidence please", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message is True
    answer = await client.send_text(
        GROUP_ID, "attached", from_id=user, message_thread_id=topic.message_thread_id
    )
    assert answer["message"]["message_thread_id"] == topic.message_thread_id
    assert await bot.edit_forum_topic(GROUP_ID, topic.message_thread_id, name="Case 17 (won)")
    assert await bot.delete_forum_topic(GROUP_ID, topic.message_thread_id) is True
    with pytest.raises(TelegramBadRequest, match="Bad Request: message thread not found"):
        await bot.send_message(GROUP_ID, "still there?", message_thread_id=topic.message_thread_id)
    with pytest.raises(SandboxError, match="message thread not found"):
        await client.send_text(GROUP_ID, "hello?", from_id=user, message_thread_id=topic.message_thread_id)
    await client.create_group(GROUP_ID - 1, "Plain group", member_ids=[user])
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(GROUP_ID - 1, "nope")


async def test_a_second_poller_terminates_the_first(sandbox: TelegramSandbox, bot: Bot) -> None:
    import asyncio

    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    second_bot = aiogram_bot(sandbox.url)
    try:
        second = asyncio.create_task(second_bot.get_updates(timeout=1))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, timeout=3)
        assert await second == []
    finally:
        await second_bot.session.close()


async def test_reset_forgets_everything_but_keeps_update_ids_growing(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    first = await client.send_text(user, "before")
    await bot.send_message(user, "reply")
    await client.inject_fault(error_code=500)
    await client.reset()
    assert await client.calls() == [] and (await client.stats())["sent"] == 0
    with pytest.raises(SandboxError, match=r"chat .* not found"):
        await client.messages(user)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(user, "anyone?")
    again = await client.send_text(user, "after")  # a private chat appears when its user writes
    assert again["update_id"] > first["update_id"]
    assert again["message"]["message_id"] == 1
    assert (await bot.send_message(user, "no fault left")).text == "no fault left"


async def test_call_log_records_method_params_and_status(bot: Bot, client: SandboxClient, user: int) -> None:
    await bot.send_message(user, "logged")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(user, "")
    calls = await client.calls("sendmessage")
    assert [(call["method"], call["status"]) for call in calls] == [
        ("sendMessage", 200),
        ("sendMessage", 400),
    ]
    assert calls[0]["params"]["text"] == "logged" and calls[0]["params"]["chat_id"] == str(user)
    assert calls[1]["description"] == "Bad Request: message text is empty"
    assert TOKEN not in str(calls)


async def test_a_user_edits_their_text_and_the_bot_gets_an_edited_message(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await client.send_text(user, "order A1")
    message_id = sent["message"]["message_id"]
    edited = await client.edit_text(user, message_id, "/report A2")
    assert edited["update_id"] == sent["update_id"] + 1
    updates = await bot.get_updates(offset=edited["update_id"], timeout=0)
    [update] = updates
    assert update.message is None and update.edited_message is not None
    change = update.edited_message
    assert (change.message_id, change.text, change.edit_date is not None) == (message_id, "/report A2", True)
    assert change.entities is not None and change.entities[0].type == "bot_command"
    [listed] = await client.messages(user)
    assert listed["text"] == "/report A2" and listed["sandbox"]["edit_count"] == 1


async def test_an_edit_is_delivered_only_if_allowed_updates_admit_it(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await bot.get_updates(timeout=0, allowed_updates=["message", "callback_query"])
    sent = await client.send_text(user, "A1")
    edited = await client.edit_text(user, sent["message"]["message_id"], "A2")
    assert edited["update_id"] is None
    updates = await bot.get_updates(timeout=0)
    assert [(update.message is not None, update.edited_message is not None) for update in updates] == [
        (True, False)
    ]
    assert (await client.messages(user))[0]["text"] == "A2"  # the chat shows the edit all the same


async def test_only_the_sender_edits_and_only_to_something_new(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    own = await client.send_text(user, "A1")
    from_bot = await bot.send_message(user, "What is the order number?")
    with pytest.raises(SandboxError, match="was not sent by user"):
        await client.edit_text(user, from_bot.message_id, "hacked")
    with pytest.raises(SandboxError, match="message is not modified"):
        await client.edit_text(user, own["message"]["message_id"], "A1")
    with pytest.raises(SandboxError, match="not found"):
        await client.edit_text(user, 999, "A2")
    await client.create_user(OTHER_USER_ID)
    await client.create_group(GROUP_ID, "Support", member_ids=[user, OTHER_USER_ID])
    said = await client.send_text(GROUP_ID, "mine", from_id=user)
    with pytest.raises(SandboxError, match=f"was not sent by user {OTHER_USER_ID}"):
        await client.edit_text(GROUP_ID, said["message"]["message_id"], "yours", from_id=OTHER_USER_ID)
    sticker = await client.send_other(user, "sticker")
    with pytest.raises(SandboxError, match="only a text or a captioned media message"):
        await client.edit_text(user, sticker["message"]["message_id"], "caption")


async def test_chats_lists_every_chat_with_its_message_count(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    await client.send_text(user, "hi")
    await bot.send_message(user, "hello")
    await client.create_user(OTHER_USER_ID)
    await client.create_group(GROUP_ID, "Support", member_ids=[OTHER_USER_ID])
    listed = await client.chats()
    assert [(entry["chat"]["id"], entry["chat"]["type"], entry["messages"]) for entry in listed] == [
        (user, "private", 2),
        (OTHER_USER_ID, "private", 0),
        (GROUP_ID, "supergroup", 0),
    ]
