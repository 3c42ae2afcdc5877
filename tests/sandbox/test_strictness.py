"""The sandbox refuses what Telegram refuses, with Telegram's error descriptions."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from telegram_sandbox import SandboxClient, TelegramSandbox
from tests.sandbox.helpers import TOKEN, aiogram_bot, png_bytes


def one_button(**fields: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", **fields)]])


async def call(sandbox: TelegramSandbox, method: str, token: str = TOKEN, **params: object):
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.url}/bot{token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


async def test_callback_data_over_64_bytes(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(user, "x", reply_markup=one_button(callback_data="x" * 65))
    # 64 bytes is fine, even when made of multi-byte characters.
    sent = await bot.send_message(user, "x", reply_markup=one_button(callback_data="é" * 32))
    assert sent.reply_markup is not None


async def test_button_needs_exactly_one_action(sandbox: TelegramSandbox, user: int) -> None:
    status, body = await call(
        sandbox,
        "sendMessage",
        chat_id=user,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "plain"}]]},
    )
    assert status == 400 and "Text buttons are unallowed" in body["description"]
    status, body = await call(
        sandbox,
        "sendMessage",
        chat_id=user,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "t", "url": "https://a.b", "callback_data": "c"}]]},
    )
    assert status == 400 and "exactly one action" in body["description"]
    status, body = await call(
        sandbox,
        "sendMessage",
        chat_id=user,
        text="x",
        reply_markup={"inline_keyboard": [{"text": "not a row"}]},
    )
    assert status == 400 and "Array of Arrays" in body["description"]


async def test_text_length_limits(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user, "😀" * 2049)  # 4098 UTF-16 code units
    assert (await bot.send_message(user, "x" * 4096)).text == "x" * 4096


async def test_empty_text(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(user, "   \n ")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(user, "<b> </b>", parse_mode="HTML")


async def test_text_is_trimmed_like_telegram(bot: Bot, user: int) -> None:
    sent = await bot.send_message(user, "  <b>hi</b> there \n", parse_mode="HTML")
    assert sent.text == "hi there"
    assert sent.entities is not None
    assert (sent.entities[0].offset, sent.entities[0].length) == (0, 2)


async def test_caption_over_1024(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_photo(user, BufferedInputFile(png_bytes(), "p.png"), caption="c" * 1025)


async def test_unknown_chat(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "hello?")


async def test_bad_html(bot: Bot, user: int) -> None:
    cases = {
        "<b>unclosed": "Can't find end tag",
        "<b>x</i>": "Unmatched end tag",
        "<div>x</div>": 'Unsupported start tag "div"',
        "1 < 2": "Unclosed start tag",
        "Tom & Jerry": 'Character "&" must be escaped',
        "<span>x</span>": 'must have class "tg-spoiler"',
    }
    for text, reason in cases.items():
        with pytest.raises(TelegramBadRequest, match="can't parse entities") as raised:
            await bot.send_message(user, text, parse_mode="HTML")
        assert reason in raised.value.message, text
    ok = await bot.send_message(user, "Tom &amp; Jerry &lt;3 &#128512;", parse_mode="HTML")
    assert ok.text == "Tom & Jerry <3 😀"


async def test_bad_markdown_v2(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(user, "Refund sent.", parse_mode="MarkdownV2")
    sent = await bot.send_message(user, r"*Refund* sent\.", parse_mode="MarkdownV2")
    assert sent.text == "Refund sent."
    assert sent.entities is not None and sent.entities[0].type == "bold"


async def test_wrong_token(sandbox: TelegramSandbox) -> None:
    wrong = aiogram_bot(sandbox.url, token="123456:wrong")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await wrong.get_me()
    finally:
        await wrong.session.close()
    status, body = await call(sandbox, "getMe", token="123456:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_and_case_insensitive_names(sandbox: TelegramSandbox) -> None:
    status, body = await call(sandbox, "sendTelepathy")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await call(sandbox, "GETME")
    assert status == 200 and body["result"]["is_bot"] is True


async def test_edit_not_modified_and_wrong_kind(bot: Bot, user: int) -> None:
    markup = one_button(callback_data="a")
    sent = await bot.send_message(user, "same", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text("same", chat_id=user, message_id=sent.message_id, reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=user, message_id=sent.message_id, caption="c")
    photo = await bot.send_photo(user, BufferedInputFile(png_bytes(), "p.png"), caption="old")
    edited = await bot.edit_message_caption(chat_id=user, message_id=photo.message_id, caption="new")
    assert not isinstance(edited, bool) and edited.caption == "new"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("t", chat_id=user, message_id=photo.message_id)


async def test_user_messages_cannot_be_edited(bot: Bot, client: SandboxClient, user: int) -> None:
    sent = await client.send_text(user, "mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("yours", chat_id=user, message_id=sent["message"]["message_id"])


async def test_edit_reply_markup(bot: Bot, user: int) -> None:
    sent = await bot.send_message(user, "choose", reply_markup=one_button(callback_data="a"))
    edited = await bot.edit_message_reply_markup(
        chat_id=user, message_id=sent.message_id, reply_markup=one_button(callback_data="b")
    )
    assert not isinstance(edited, bool) and edited.reply_markup is not None
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "b"
    cleared = await bot.edit_message_reply_markup(chat_id=user, message_id=sent.message_id)
    assert not isinstance(cleared, bool) and cleared.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=user, message_id=sent.message_id)


async def test_files_are_checked(bot: Bot, client: SandboxClient, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.get_file("no-such-file")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user, BufferedInputFile(b"not an image", "x.jpg"))
    document = await client.send_document(
        user, b"tiny", "huge.zip", "application/zip", declared_file_size=25 * 1024 * 1024
    )
    file_id = document["message"]["document"]["file_id"]
    assert document["message"]["document"]["file_size"] == 25 * 1024 * 1024
    with pytest.raises(TelegramBadRequest, match="Bad Request: file is too big"):
        await bot.get_file(file_id)
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(user, file_id)


async def test_reply_to_missing_message(bot: Bot, user: int) -> None:
    from aiogram.types import ReplyParameters

    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(user, "re", reply_parameters=ReplyParameters(message_id=99))
    sent = await bot.send_message(
        user, "re", reply_parameters=ReplyParameters(message_id=99, allow_sending_without_reply=True)
    )
    assert sent.reply_to_message is None


async def test_reply_keyboards_are_kept_out_of_the_message(
    bot: Bot, client: SandboxClient, user: int
) -> None:
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Share phone")]])
    sent = await bot.send_message(user, "Tap below", reply_markup=keyboard)
    assert sent.reply_markup is None
    listed = await client.messages(user)
    assert listed[0]["sandbox"]["reply_keyboard"]["keyboard"] == [[{"text": "Share phone"}]]
