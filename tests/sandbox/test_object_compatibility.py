"""Every object the sandbox emits must parse in aiogram's models and in PTB's de_json."""

from __future__ import annotations

from typing import Any

import aiohttp
import telegram
from aiogram import types as aiogram_types
from aiogram.methods import GetChatAdministrators, GetChatMember
from pydantic import TypeAdapter

from telegram_sandbox import SandboxClient, TelegramSandbox
from telegram_sandbox.content import OTHER_KINDS
from tests.sandbox.helpers import GROUP_ID, TOKEN, USER_ID, png_bytes


async def bot_call(session: aiohttp.ClientSession, url: str, method: str, **params: Any) -> Any:
    async with session.post(f"{url}/bot{TOKEN}/{method}", json=params) as response:
        body = await response.json()
    assert body["ok"], body
    return body["result"]


def parses_everywhere(kind: str, data: Any) -> None:
    aiogram_model = getattr(aiogram_types, kind)
    ptb_model = getattr(telegram, kind)
    parsed = aiogram_model.model_validate(data)
    assert parsed is not None
    assert ptb_model.de_json(data, None) is not None


async def test_updates_and_messages_parse_in_both_frameworks(
    sandbox: TelegramSandbox, client: SandboxClient
) -> None:
    await client.create_user(USER_ID, first_name="Payer", username="payer")
    await client.create_group(GROUP_ID, "Disputes", is_forum=True, member_ids=[USER_ID])
    first = await client.send_text(USER_ID, "/start")
    await client.send_text(USER_ID, "replying", reply_to_message_id=first["message"]["message_id"])
    await client.send_photo(USER_ID, png_bytes(), caption="receipt", media_group_id="album1")
    await client.send_document(USER_ID, b"a,b\n1,2\n", "tx.csv", "text/csv")
    for kind in OTHER_KINDS:
        await client.send_other(USER_ID, kind)

    async with aiohttp.ClientSession() as session:
        url = sandbox.url
        markup = {
            "inline_keyboard": [
                [{"text": "Open", "url": "https://example.com"}],
                [{"text": "Pick", "callback_data": "pick"}],
            ]
        }
        prompt = await bot_call(
            session,
            url,
            "sendMessage",
            chat_id=USER_ID,
            text="<b>Pick</b>",
            parse_mode="HTML",
            reply_markup=markup,
        )
        await client.press(USER_ID, prompt["message_id"], "pick")
        await bot_call(
            session,
            url,
            "forwardMessage",
            chat_id=USER_ID,
            from_chat_id=USER_ID,
            message_id=first["message"]["message_id"],
        )
        topic = await bot_call(session, url, "createForumTopic", chat_id=GROUP_ID, name="Case")
        await client.send_text(
            GROUP_ID, "in topic", from_id=USER_ID, message_thread_id=topic["message_thread_id"]
        )
        await bot_call(
            session,
            url,
            "editForumTopic",
            chat_id=GROUP_ID,
            message_thread_id=topic["message_thread_id"],
            name="Case 2",
        )
        await client.set_blocked(USER_ID, True)
        await client.set_blocked(USER_ID, False)

        parses_everywhere("User", await bot_call(session, url, "getMe"))
        parses_everywhere("ChatFullInfo", await bot_call(session, url, "getChat", chat_id=USER_ID))
        parses_everywhere("ChatFullInfo", await bot_call(session, url, "getChat", chat_id=GROUP_ID))
        parses_everywhere("ForumTopic", topic)
        parses_everywhere("WebhookInfo", await bot_call(session, url, "getWebhookInfo"))
        photo_id = (await client.messages(USER_ID))[2]["photo"][-1]["file_id"]
        parses_everywhere("File", await bot_call(session, url, "getFile", file_id=photo_id))
        for user_id, status in ((USER_ID, "creator"), (123456, "administrator")):
            member = await bot_call(session, url, "getChatMember", chat_id=GROUP_ID, user_id=user_id)
            assert TypeAdapter(GetChatMember.__returning__).validate_python(member).status == status
            assert telegram.ChatMember.de_json(member, None).status == status
        admins = await bot_call(session, url, "getChatAdministrators", chat_id=GROUP_ID)
        parsed = TypeAdapter(GetChatAdministrators.__returning__).validate_python(admins)
        assert [admin.status for admin in parsed] == ["creator", "administrator"]
        assert [telegram.ChatMember.de_json(admin, None).status for admin in admins] == [
            "creator",
            "administrator",
        ]
        copied = await bot_call(
            session,
            url,
            "copyMessage",
            chat_id=USER_ID,
            from_chat_id=USER_ID,
            message_id=first["message"]["message_id"],
        )
        parses_everywhere("MessageId", copied)

    updates = await client.pending_updates()
    kinds = [next(key for key in update if key != "update_id") for update in updates]
    assert kinds.count("message") == 4 + len(OTHER_KINDS) + 1
    assert {"callback_query", "my_chat_member"} <= set(kinds)
    for update in updates:
        parses_everywhere("Update", update)
        assert aiogram_types.Update.model_validate(update).event_type == next(
            key for key in update if key != "update_id"
        )
    for chat_id in (USER_ID, GROUP_ID):
        for message in await client.messages(chat_id):
            del message["sandbox"]
            parses_everywhere("Message", message)
    parsed_kinds = {
        telegram.Message.de_json(update["message"], None).effective_attachment.__class__.__name__
        for update in updates
        if "message" in update and "text" not in update["message"]
    }
    assert {
        "Sticker",
        "Voice",
        "Video",
        "Animation",
        "Location",
        "Contact",
        "VideoNote",
        "Audio",
        "Poll",
        "Dice",
        "Document",
    } <= parsed_kinds
