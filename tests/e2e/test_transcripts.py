"""The runtimes' transcripts comparison can fail: a different message, order, chat or toast is caught."""

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox
from tests.e2e.conftest import TOKEN
from tests.e2e.transcripts import TOASTS, TranscriptMismatch, check_same, read_transcript, without_chats
from tests.sandbox.helpers import aiogram_bot

FILED = "Your report is filed as RF-ABCD2345. Next: RF-ZZZZ9999"
YES_NO = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y"),
                                                InlineKeyboardButton(text="No", callback_data="n")]])


def runs(aiogram: dict, ptb: dict) -> dict:
    return {"aiogram": {TOASTS: [], **aiogram}, "ptb": {TOASTS: [], **ptb}}


def test_the_same_messages_pass():
    same = {"chat 1001": ["text: 'Hi' [buttons: Report]", "text: 'Bye'"]}
    check_same("scenario", runs(same, same))


def test_a_different_text_fails_naming_the_chat_and_both_lines():
    aiogram = {"chat 1001": ["text: 'Hi'", "text: 'Amount: CN¥99.00.'"]}
    ptb = {"chat 1001": ["text: 'Hi'", "text: 'Amount: 99.00.'"]}
    with pytest.raises(TranscriptMismatch) as raised:
        check_same("test_x[sqlite-ptb]", runs(aiogram, ptb))
    words = str(raised.value)
    assert "chat 1001, bot message #2" in words and "after: text: 'Hi'" in words
    assert "aiogram: text: 'Amount: CN¥99.00.'" in words and "ptb: text: 'Amount: 99.00.'" in words


@pytest.mark.parametrize(
    ("aiogram", "ptb", "words"),
    [
        ({"chat 1": ["a", "b"]}, {"chat 1": ["b", "a"]}, "bot message #1"),
        ({"chat 1": ["a", "b"]}, {"chat 1": ["a"]}, "ptb: (nothing)"),
        ({"chat 1": ["a [buttons: Yes | No]"]}, {"chat 1": ["a [buttons: No | Yes]"]}, "bot message #1"),
        ({"chat 1": ["a"], "chat 2": []}, {"chat 1": ["a"]}, "chat 2 is missing from the ptb run"),
        ({TOASTS: ["'Cancelled'"]}, {TOASTS: ["None"]}, "only aiogram: [\"'Cancelled'\"]"),
    ],
)
def test_order_length_buttons_chats_and_toasts_count(aiogram, ptb, words):
    with pytest.raises(TranscriptMismatch, match="different messages") as raised:
        check_same("scenario", runs(aiogram, ptb))
    assert words in str(raised.value)


def test_in_any_order_a_chat_is_a_multiset_but_still_compared():
    check_same("race", runs({"chat 1": ["a", "b"]}, {"chat 1": ["b", "a"]}), any_order=True)
    with pytest.raises(TranscriptMismatch, match="only ptb: \\['c'\\]"):
        check_same("race", runs({"chat 1": ["a", "b"]}, {"chat 1": ["b", "c"]}), any_order=True)


async def test_read_transcript_numbers_the_random_references_and_keeps_order():
    async with TelegramSandbox(token=TOKEN) as sandbox, SandboxClient(sandbox.url) as client:
        bot = aiogram_bot(sandbox.url, TOKEN)
        try:
            await client.create_user(1001)
            await client.create_user(1002)
            await client.send_text(1001, "/report")
            card = await bot.send_message(1002, "Ticket RF-ZZZZ9999")
            await bot.send_message(1001, FILED, reply_markup=YES_NO)
            await bot.edit_message_text("Ticket RF-ZZZZ9999 closed", chat_id=1002, message_id=card.message_id)
            transcript = await read_transcript(client)
        finally:
            await bot.session.close()
    assert transcript == {
        "chat 1001": ["text: 'Your report is filed as RF-#1. Next: RF-#2' [buttons: Yes | No]"],
        "chat 1002": ["text: 'Ticket RF-#2 closed' (edited 1x)"],
        TOASTS: [],
    }


def test_at_least_once_a_repeat_in_a_row_counts_once_but_a_missing_message_still_fails():
    once, twice = {"chat 7": ["for 7"]}, {"chat 7": ["for 7", "for 7"]}
    with pytest.raises(TranscriptMismatch):
        check_same("crash", runs(twice, once))
    check_same("crash", runs(twice, once), at_least_once=True)
    with pytest.raises(TranscriptMismatch, match="chat 7, bot message #1"):
        check_same("crash", runs(twice, {"chat 7": []}), at_least_once=True)


def test_on_the_real_clock_durations_times_and_edit_counts_are_not_compared():
    aiogram = {"chat 9": ["text: '✅ Broadcast #1 finished in 5 seconds at 14:32.' (edited 3x)"]}
    ptb = {"chat 9": ["text: '✅ Broadcast #1 finished in 6 seconds at 14:33.' (edited 4x)"]}
    with pytest.raises(TranscriptMismatch):
        check_same("frozen clock", runs(aiogram, ptb))
    check_same("kill -9", runs(aiogram, ptb), real_clock=True)
    with pytest.raises(TranscriptMismatch, match="bot message #1"):
        check_same("kill -9", runs(aiogram, {"chat 9": ["text: '✅ Broadcast #2 finished in 6 seconds.'"]}),
                   real_clock=True)


def test_a_chat_left_out_is_not_compared_but_the_others_are():
    aiogram = {"chat -100": ["topic created: RF-#1 · refund on its way"], "chat 1001": ["text: 'Filed'"]}
    ptb = {"chat -100": ["topic created: RF-#1 · refund approved"], "chat 1001": ["text: 'Filed'"]}
    both = runs(aiogram, ptb)
    check_same("race", {name: without_chats(run, (-100,)) for name, run in both.items()})
    with pytest.raises(TranscriptMismatch, match="chat 1001"):
        check_same("race", {name: without_chats(run, (-100,)) for name, run in
                            runs(aiogram, {**ptb, "chat 1001": ["text: 'Not filed'"]}).items()})
