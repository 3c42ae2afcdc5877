"""Whole frameworks against the sandbox: aiogram's Dispatcher long polling and PTB 22's Bot."""

from __future__ import annotations

import asyncio

import telegram
from aiogram import Bot, Dispatcher
from aiogram.types import Message

from telegram_sandbox import SandboxClient, TelegramSandbox
from tests.sandbox.helpers import BOT_ID, TOKEN, png_bytes


async def test_aiogram_dispatcher_long_polling_echoes(bot: Bot, client: SandboxClient, user: int) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    try:
        first = await client.send_text(user, "hello")
        replies = await client.wait_for_bot_messages(
            user, after_message_id=first["message"]["message_id"], timeout=5
        )
        assert [reply["text"] for reply in replies] == ["echo: hello"]
        second = await client.send_text(user, "again")
        replies = await client.wait_for_bot_messages(
            user, after_message_id=second["message"]["message_id"], timeout=5
        )
        assert [reply["text"] for reply in replies] == ["echo: again"]
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=5)
    # Each update was handled exactly once.
    texts = [message["text"] for message in await client.messages(user)]
    assert texts == ["hello", "echo: hello", "again", "echo: again"]


async def test_python_telegram_bot_talks_to_the_sandbox(
    sandbox: TelegramSandbox, client: SandboxClient, user: int
) -> None:
    ptb = telegram.Bot(TOKEN, base_url=f"{sandbox.url}/bot", base_file_url=f"{sandbox.url}/file/bot")
    async with ptb:
        me = await ptb.get_me()
        assert (me.id, me.username, me.is_bot) == (BOT_ID, "refund_assistant_bot", True)

        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Refund", callback_data="refund")]]
        )
        sent = await ptb.send_message(user, "<i>Hi</i> there", parse_mode="HTML", reply_markup=markup)
        assert sent.text == "Hi there"
        assert sent.entities[0].type == "italic" and sent.entities[0].length == 2
        assert sent.reply_markup == markup

        await client.send_text(user, "/status")
        await client.press(user, sent.message_id, "refund")
        updates = await ptb.get_updates(timeout=1)
        assert updates[0].message is not None and updates[0].message.text == "/status"
        assert updates[1].callback_query is not None
        assert updates[1].callback_query.data == "refund"
        assert await ptb.answer_callback_query(updates[1].callback_query.id) is True

        image_update = await client.send_photo(user, b"\x89PNG not really", caption="scan")
        file_id = image_update["message"]["photo"][-1]["file_id"]
        photo_file = await ptb.get_file(file_id)
        assert bytes(await photo_file.download_as_bytearray()) == b"\x89PNG not really"

        image = png_bytes(40, 30)
        uploaded = await ptb.send_photo(user, photo=image, caption="from PTB")
        assert (uploaded.photo[-1].width, uploaded.photo[-1].height) == (40, 30)
        round_trip = await (await ptb.get_file(uploaded.photo[-1].file_id)).download_as_bytearray()
        assert bytes(round_trip) == image
        document = await ptb.send_document(user, document=b"a,b\n", filename="rows.csv")
        assert (document.document.file_name, document.document.mime_type) == (
            "rows.csv",
            "text/csv",
        )

        edited = await ptb.edit_message_text("Done", chat_id=user, message_id=sent.message_id)
        assert isinstance(edited, telegram.Message) and edited.edit_date is not None
        with_error = None
        try:
            await ptb.send_message(user, "x" * 4097)
        except telegram.error.BadRequest as error:
            with_error = error.message
        assert with_error == "Message is too long"
