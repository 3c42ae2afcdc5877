"""The real aiogram 3 Bot against the sandbox: sends, edits, callbacks, files and updates."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from telegram_sandbox import SandboxClient, TelegramSandbox, button_data, buttons
from tests.sandbox.helpers import BOT_ID, USER_ID, png_bytes


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    )


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "refund_assistant_bot")


async def test_send_message_returns_complete_message_with_keyboard(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    markup = keyboard(("Yes, refund", "refund:yes"), ("No", "refund:no"))
    sent = await bot.send_message(user, "Charged twice?", reply_markup=markup)
    assert sent.message_id == 1
    assert sent.chat.id == user and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.id == BOT_ID
    assert sent.text == "Charged twice?"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == markup.model_dump(exclude_none=True)
    assert sent.date.timestamp() > 0
    listed = await client.messages(user)
    assert buttons(listed[0]) == [("Yes, refund", "refund:yes"), ("No", "refund:no")]
    assert button_data(listed[0], "refund") == "refund:yes"


async def test_message_ids_are_shared_by_user_and_bot_in_a_chat(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    first = await client.send_text(user, "hi")
    reply = await bot.send_message(user, "hello")
    second = await client.send_text(user, "again")
    ids = [first["message"]["message_id"], reply.message_id, second["message"]["message_id"]]
    assert ids == [1, 2, 3]


async def test_edit_message_text_edits_in_place_and_removes_omitted_keyboard(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    sent = await bot.send_message(user, "Step 1", reply_markup=keyboard(("Next", "next")))
    waiter = asyncio.create_task(client.wait_for_edit(user, sent.message_id, timeout=5))
    edited = await bot.edit_message_text("Step 2", chat_id=user, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "Step 2" and edited.edit_date is not None
    assert edited.reply_markup is None
    seen = await waiter
    assert seen["text"] == "Step 2" and seen["sandbox"]["edit_count"] == 1


async def test_press_then_answer_callback_query(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "Pick", reply_markup=keyboard(("Card", "method:card")))
    pressed = await client.press(user, sent.message_id, "method:card")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (
        pressed["callback_query_id"],
        "method:card",
        user,
    )
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Noted", show_alert=True) is True
    answers = await client.callback_answers()
    assert answers[0]["callback_query_id"] == query.id
    assert (answers[0]["text"], answers[0]["show_alert"]) == ("Noted", True)


async def test_send_photo_upload_is_multipart_and_downloadable(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    image = png_bytes(300, 200)
    sent = await bot.send_photo(
        user, BufferedInputFile(image, "receipt.png"), caption="<b>Receipt</b>", parse_mode="HTML"
    )
    assert sent.photo is not None and len(sent.photo) == 2
    assert (sent.photo[-1].width, sent.photo[-1].height) == (300, 200)
    assert (sent.photo[0].width, sent.photo[0].height) == (90, 60)
    assert sent.caption == "Receipt"
    assert sent.caption_entities is not None and sent.caption_entities[0].type == "bold"
    downloaded = await bot.download(sent.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == image
    call = (await client.calls("sendPhoto"))[0]
    assert call["status"] == 200 and call["params"]["caption"] == "<b>Receipt</b>"
    assert next(iter(v for v in call["params"].values() if isinstance(v, dict)))["size"] == len(image)


async def test_resend_photo_by_file_id(bot: Bot, user: int) -> None:
    first = await bot.send_photo(user, BufferedInputFile(png_bytes(), "a.png"))
    assert first.photo is not None
    again = await bot.send_photo(user, first.photo[-1].file_id)
    assert again.photo is not None
    assert [size.file_id for size in again.photo] == [size.file_id for size in first.photo]


async def test_send_document_upload(bot: Bot, user: int) -> None:
    sent = await bot.send_document(user, BufferedInputFile(b"%PDF-1.4 test", "statement.pdf"))
    assert sent.document is not None
    assert sent.document.file_name == "statement.pdf"
    assert sent.document.mime_type == "application/pdf"
    assert sent.document.file_size == len(b"%PDF-1.4 test")
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 test"


async def test_get_updates_receives_text_photo_and_callback(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    image = png_bytes(64, 48)
    await client.send_text(user, "/start ref42")
    await client.send_photo(user, image, caption="my receipt")
    prompt = await bot.send_message(user, "Choose", reply_markup=keyboard(("OK", "ok")))
    await client.press(user, prompt.message_id, "ok")

    updates = await bot.get_updates(timeout=1)
    assert [update.update_id for update in updates] == [1, 2, 3]
    text, photo, callback = updates
    assert text.message is not None and text.message.text == "/start ref42"
    assert text.message.entities is not None
    assert (text.message.entities[0].type, text.message.entities[0].length) == ("bot_command", 6)
    assert photo.message is not None and photo.message.photo is not None
    assert photo.message.caption == "my receipt"
    assert (photo.message.photo[-1].width, photo.message.photo[-1].height) == (64, 48)
    downloaded = await bot.download(photo.message.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == image
    assert callback.callback_query is not None and callback.callback_query.data == "ok"

    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []


async def test_user_document_download_returns_exact_bytes(bot: Bot, client: SandboxClient, user: int) -> None:
    payload = bytes(range(256)) * 10
    sent = await client.send_document(user, payload, "bank.csv", "text/csv")
    document = sent["message"]["document"]
    assert (document["file_name"], document["mime_type"]) == ("bank.csv", "text/csv")
    downloaded = await bot.download(document["file_id"])
    assert downloaded is not None and downloaded.read() == payload


async def test_long_poll_wakes_promptly_on_a_new_update(bot: Bot, client: SandboxClient, user: int) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await client.send_text(user, "ping")
    updates = await asyncio.wait_for(poll, timeout=2)
    assert [update.message.text for update in updates if update.message] == ["ping"]


async def test_long_poll_ends_cleanly_when_server_stops(sandbox: TelegramSandbox, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.2)
    await asyncio.wait_for(sandbox.stop(), timeout=3)
    assert await asyncio.wait_for(poll, timeout=3) == []


async def test_negative_offset_keeps_only_the_latest_updates(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    for text in ("one", "two", "three"):
        await client.send_text(user, text)
    latest = await bot.get_updates(offset=-1, timeout=0)
    assert [update.message.text for update in latest if update.message] == ["three"]
    assert len(await bot.get_updates(timeout=0)) == 1


async def test_allowed_updates_filters_updates_created_afterwards(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    assert await bot.get_updates(timeout=0, allowed_updates=["callback_query"]) == []
    await client.send_text(user, "ignored")
    assert await bot.get_updates(timeout=0) == []
    await bot.get_updates(timeout=0, allowed_updates=[])
    await client.send_text(user, "seen")
    updates = await bot.get_updates(timeout=0)
    assert [update.message.text for update in updates if update.message] == ["seen"]


async def test_copy_and_forward(bot: Bot, client: SandboxClient, user: int) -> None:
    original = await client.send_text(user, "proof of payment")
    copied = await bot.copy_message(user, user, original["message"]["message_id"])
    forwarded = await bot.forward_message(user, user, original["message"]["message_id"])
    listed = {message["message_id"]: message for message in await client.messages(user)}
    assert listed[copied.message_id]["text"] == "proof of payment"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    assert forwarded.text == "proof of payment"


async def test_commands_round_trip(bot: Bot) -> None:
    from aiogram.types import BotCommand

    commands = [
        BotCommand(command="start", description="Begin"),
        BotCommand(command="refund", description="Ask for a refund"),
    ]
    assert await bot.set_my_commands(commands) is True
    stored = await bot.get_my_commands()
    assert [(c.command, c.description) for c in stored] == [
        ("start", "Begin"),
        ("refund", "Ask for a refund"),
    ]
    assert await bot.get_my_commands(language_code="de") == []
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == []


async def test_chat_and_member_info(bot: Bot, client: SandboxClient, user: int) -> None:
    chat = await bot.get_chat(user)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (user, "private", "Payer", "payer")
    member = await bot.get_chat_member(user, user)
    assert member.status == "member"
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert await bot.send_chat_action(user, "typing") is True


async def test_delete_message_marks_it_deleted(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await bot.send_message(user, "temporary")
    assert await bot.delete_message(user, sent.message_id) is True
    listed = await client.messages(user)
    assert listed[0]["sandbox"]["deleted"] is True
    from aiogram.exceptions import TelegramBadRequest

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("again", chat_id=user, message_id=sent.message_id)
    assert USER_ID == user
