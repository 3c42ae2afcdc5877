"""Both runtimes make the same Event from the same update, and route the same updates to the desks."""

import pytest
import telegram
from aiogram import types as aiogram_types

from bot.aiogram_runtime import translate as aiogram_translate
from bot.ptb_runtime import translate as ptb_translate
from bot.ptb_runtime.handlers import Route, route_of

SUPPORT = -100777
ANN = {"id": 1001, "is_bot": False, "first_name": "Ann", "username": "ann", "language_code": "zh-hans"}
PRIVATE = {"id": 1001, "type": "private", "first_name": "Ann"}
GROUP = {"id": SUPPORT, "type": "supergroup", "title": "Support", "is_forum": True}
OTHER_GROUP = {"id": -100999, "type": "supergroup", "title": "Elsewhere"}
BOT_MESSAGE = {"message_id": 5, "date": 1_700_000_000, "chat": PRIVATE,
               "from": {"id": 42, "is_bot": True, "first_name": "Refunds"}, "text": "Review"}


def message(**fields) -> dict:
    return {"message_id": 9, "date": 1_700_000_000, "chat": PRIVATE, "from": ANN, **fields}


MESSAGES = {
    "text": message(text="ORD-1 99.00"),
    "command with bot name and args": message(
        text="/Start@refund_bot abc_DEF-1", entities=[{"type": "bot_command", "offset": 0, "length": 17}]),
    "a command word later in the text": message(
        text="see /help", entities=[{"type": "bot_command", "offset": 4, "length": 5}]),
    "photo": message(photo=[
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900},
        {"file_id": "large", "file_unique_id": "l", "width": 900, "height": 900, "file_size": 90000}]),
    "image document": message(document={"file_id": "doc", "file_unique_id": "d", "file_name": "s.png",
                                        "mime_type": "image/png", "file_size": 1234}),
    "album photo": message(media_group_id="album-1", photo=[
        {"file_id": "p", "file_unique_id": "p", "width": 10, "height": 10}]),
    "sticker": message(sticker={"file_id": "st", "file_unique_id": "st", "width": 512, "height": 512,
                                "is_animated": False, "is_video": False, "type": "regular"}),
    "voice": message(voice={"file_id": "v", "file_unique_id": "v", "duration": 3}),
    "location": message(location={"latitude": 31.2, "longitude": 121.5}),
    "topic message replying": message(
        chat=GROUP, text="please check", message_thread_id=77, is_topic_message=True,
        reply_to_message={"message_id": 70, "date": 1_700_000_000, "chat": GROUP, "text": "card"}),
    "thread id without a topic": message(chat=GROUP, text="plain", message_thread_id=3),
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_a_message_makes_the_same_event_on_both_runtimes(name):
    data = MESSAGES[name]
    made_by_aiogram = aiogram_translate.event_from_message(aiogram_types.Message.model_validate(data), 31)
    made_by_ptb = ptb_translate.event_from_message(telegram.Message.de_json(data, None), 31)
    assert made_by_ptb == made_by_aiogram


@pytest.mark.parametrize("with_message", [True, False])
def test_a_button_press_makes_the_same_event_on_both_runtimes(with_message):
    data = {"id": "q1", "from": ANN, "chat_instance": "ci", "data": "rpt:k:submit"}
    if with_message:
        data["message"] = {**BOT_MESSAGE, "chat": GROUP, "message_thread_id": 77}
    query = aiogram_types.CallbackQuery.model_validate(data)
    made_by_aiogram = aiogram_translate.event_from_callback(query, 8)
    made_by_ptb = ptb_translate.event_from_callback(telegram.CallbackQuery.de_json(data, None), 8)
    assert made_by_ptb == made_by_aiogram


@pytest.mark.parametrize("status", ["kicked", "member"])
def test_blocking_and_unblocking_make_the_same_event_on_both_runtimes(status):
    bot_user = {"id": 42, "is_bot": True, "first_name": "Refunds"}
    data = {"chat": PRIVATE, "from": ANN, "date": 1_700_000_000,
            "old_chat_member": {"status": "member", "user": bot_user},
            "new_chat_member": {"status": status, "user": bot_user}
            | ({"until_date": 0} if status == "kicked" else {})}
    made_by_aiogram = aiogram_translate.event_from_membership(
        aiogram_types.ChatMemberUpdated.model_validate(data), 4)
    made_by_ptb = ptb_translate.event_from_membership(telegram.ChatMemberUpdated.de_json(data, None), 4)
    assert made_by_ptb == made_by_aiogram
    assert made_by_ptb.blocked is (status == "kicked")


def update(**fields) -> telegram.Update:
    return telegram.Update.de_json({"update_id": 1, **fields}, None)


def press(chat: dict | None) -> dict:
    query = {"id": "q", "from": ANN, "chat_instance": "ci", "data": "x"}
    return query | ({"message": {**BOT_MESSAGE, "chat": chat}} if chat else {"inline_message_id": "i"})


ROUTES = [
    ("a private message", update(message=message(text="hi")), Route.PAYER_MESSAGE),
    ("a message in the support group", update(message=message(chat=GROUP, text="/stats")),
     Route.SUPPORT_MESSAGE),
    ("a message in another group", update(message=message(chat=OTHER_GROUP, text="hi")), None),
    ("an edited private message", update(edited_message=message(text="ORD2", edit_date=1_700_000_100)),
     None),
    ("a channel post", update(channel_post=message(chat={"id": -1005, "type": "channel", "title": "C"},
                                                   text="news")), None),
    ("a press in a private chat", update(callback_query=press(PRIVATE)), Route.PAYER_BUTTON),
    ("a press on a card in the support group", update(callback_query=press(GROUP)), Route.SUPPORT_BUTTON),
    ("a press in another group", update(callback_query=press(OTHER_GROUP)), None),
    ("a press on an inline message", update(callback_query=press(None)), None),
]


@pytest.mark.parametrize(("update_", "route"), [(u, r) for _, u, r in ROUTES], ids=[n for n, _, _ in ROUTES])
def test_the_ptb_handler_takes_what_the_aiogram_routers_take(update_, route):
    assert route_of(update_, SUPPORT) is route


def test_without_a_support_group_a_group_message_is_left_alone():
    assert route_of(update(message=message(chat=GROUP, text="/stats")), None) is None
