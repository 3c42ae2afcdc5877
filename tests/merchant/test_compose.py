"""A merchant composes a broadcast in their private chat; nothing is queued before Confirm; /broadcasts."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from handlers.buttons import BroadcastAction, BroadcastButton, BroadcastCancelButton, TipsButton, TipsChoice
from handlers.events import Output, Reply, Toast
from handlers.merchant.compose import check_broadcast_text, read_send_time
from handlers.parsing import InputRejected
from storage.models import Broadcast, BroadcastDraft, BroadcastStatus, OutboxMessage, OutboxStatus, User
from storage.outbox import BULK, enqueue_rows, outbox_row
from tests.money.conftest import NOW, SHANGHAI, TEXTS, World, make_world, outputs_text

MERCHANT, PAYER = 700, 42
STALE = TEXTS.get("en", "button.stale")
STOP_TIPS = TipsButton(TipsChoice.OFF).pack()


@pytest.fixture
async def world(db, tmp_path) -> World:
    """The payer desk with one merchant admin; subscribers: two English, one Chinese; three get none."""
    world = make_world(db, tmp_path)
    world.payers.rules = replace(world.payers.rules, merchant_admin_ids=frozenset({MERCHANT}))
    people = [(1, "en", True, False), (2, "en", True, False), (3, "zh", True, False),
              (4, "en", False, False), (5, "zh", None, False), (6, "zh", True, True)]
    async with db.transaction() as session:
        for user_id, locale, tips, unreachable in people:
            session.add(User(id=user_id, first_name=f"p{user_id}", locale=locale, tips=tips,
                             tips_asked=tips is not None, unreachable=unreachable, created_at=NOW))
    return world


def replies(outputs: list[Output]) -> list[Reply]:
    return [o for o in outputs if isinstance(o, Reply)]


def data_of(outputs: list[Output], action: BroadcastAction, argument: str = "") -> str:
    """The data of the draft button with this action (and argument) among the answer's buttons."""
    for reply in replies(outputs):
        for row in reply.buttons:
            for button in row:
                parsed = BroadcastButton.parse(button.data)
                if parsed and parsed.action is action and parsed.argument == argument:
                    return button.data
    raise AssertionError(f"no {action} {argument} button in {outputs!r}")


def labels(outputs: list[Output]) -> list[str]:
    return [button.label for reply in replies(outputs) for row in reply.buttons for button in row]


async def broadcasts(world: World) -> list[Broadcast]:
    async with world.db.transaction() as session:
        return list((await session.exec(select(Broadcast).order_by(Broadcast.id))).all())


async def draft(world: World) -> BroadcastDraft | None:
    async with world.db.transaction() as session:
        return await session.get(BroadcastDraft, MERCHANT)


async def to_time_step(world: World, audience: str = "all") -> list[Output]:
    """Library tip 3 picked, previewed, audience chosen: the time question."""
    pick = await world.say(MERCHANT, "/broadcast")
    picked = await world.press(MERCHANT, data_of(pick, BroadcastAction.TIP, "3"))
    return await world.press(MERCHANT, data_of(picked, BroadcastAction.AUDIENCE, audience))


async def test_a_library_tip_is_previewed_and_queued_only_on_confirm(world):
    pick = await world.say(MERCHANT, "/broadcast")
    assert "Nothing is sent until you confirm" in outputs_text(pick)
    assert "3 · Wait for confirmation" in labels(pick) and "✏️ Write my own" in labels(pick)

    preview = await world.press(MERCHANT, data_of(pick, BroadcastAction.TIP, "3"))
    shown = replies(preview)
    english, chinese = shown[1], shown[3]  # each language's message follows its label
    assert english.text == TEXTS.get("en", "tip.3") and chinese.text == TEXTS.get("zh", "tip.3")
    assert [[(b.label, b.data) for b in row] for row in english.buttons] == [
        [(TEXTS.get("en", "tips.stop_button"), STOP_TIPS)]
    ]
    assert chinese.buttons[0][0].label == TEXTS.get("zh", "tips.stop_button")
    assert {"Everyone (3)", "English (2)", "Chinese (1)"} <= set(labels(preview))

    when = await world.press(MERCHANT, data_of(preview, BroadcastAction.AUDIENCE, "en"))
    assert "Asia/Shanghai" in outputs_text(when)
    summary = await world.press(MERCHANT, data_of(when, BroadcastAction.NOW))
    text = outputs_text(summary)
    assert 'library tip 3, "Wait for confirmation"' in text and "English (2)" in text and "When: now" in text
    assert await broadcasts(world) == []  # nothing before Confirm

    queued = await world.press(MERCHANT, data_of(summary, BroadcastAction.CONFIRM))
    assert "Queued as broadcast #1" in outputs_text(queued)
    assert "Progress will appear here" in outputs_text(queued)
    [broadcast] = await broadcasts(world)
    assert (broadcast.status, broadcast.source, broadcast.tip_number, broadcast.audience) == (
        BroadcastStatus.SCHEDULED, "chat", 3, "en")
    assert broadcast.scheduled_at == NOW
    assert (broadcast.created_by, broadcast.progress_chat_id) == (MERCHANT, MERCHANT)
    assert broadcast.text_en is None and broadcast.text_zh is None
    assert await draft(world) is None
    assert await world.outbox(1) == []  # the delivery job writes the messages, not the confirmation


async def test_a_custom_text_per_language_is_shown_back_exactly_and_scheduled_in_the_merchants_zone(world):
    own = await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    assert "English text" in outputs_text(own)
    english = "Pay <b>once</b> *only*\n& wait for the receipt 💡"
    ask_chinese = await world.say(MERCHANT, f"  {english}  ")
    assert "Chinese text" in outputs_text(ask_chinese)
    preview = await world.say(MERCHANT, "只付一次，等待<i>确认</i>")
    shown = replies(preview)
    assert shown[1].text == english and shown[3].text == "只付一次，等待<i>确认</i>"

    await world.press(MERCHANT, data_of(preview, BroadcastAction.AUDIENCE, "all"))
    summary = await world.say(MERCHANT, "2026-12-01 09:30")
    assert "Dec 1, 2026" in outputs_text(summary) and "Everyone (3)" in outputs_text(summary)
    assert "in English and Chinese" in outputs_text(summary)
    await world.press(MERCHANT, data_of(summary, BroadcastAction.CONFIRM))
    [broadcast] = await broadcasts(world)
    assert (broadcast.text_en, broadcast.text_zh) == (english, "只付一次，等待<i>确认</i>")
    assert broadcast.tip_number is None
    assert broadcast.scheduled_at == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


async def test_only_a_chinese_text_reaches_english_speakers_too(world):
    own = await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    ask_chinese = await world.press(MERCHANT, data_of(own, BroadcastAction.SKIP))
    assert "Skip this language" not in labels(ask_chinese)  # at least one language
    preview = await world.say(MERCHANT, "付款后请等待确认")
    shown = replies(preview)
    assert shown[1].text == shown[3].text == "付款后请等待确认"
    assert shown[1].buttons[0][0].label == TEXTS.get("en", "tips.stop_button")  # the reader's language
    when = await world.press(MERCHANT, data_of(preview, BroadcastAction.AUDIENCE, "zh"))
    summary = await world.press(MERCHANT, data_of(when, BroadcastAction.NOW))
    assert "in Chinese" in outputs_text(summary) and "Chinese (1)" in outputs_text(summary)
    await world.press(MERCHANT, data_of(summary, BroadcastAction.CONFIRM))
    [broadcast] = await broadcasts(world)
    assert (broadcast.text_en, broadcast.text_zh, broadcast.audience) == (None, "付款后请等待确认", "zh")


async def test_skipping_both_languages_is_refused(world):
    own = await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    skip = data_of(own, BroadcastAction.SKIP)
    await world.press(MERCHANT, skip)
    key = (await draft(world)).key
    forged = await world.press(MERCHANT, BroadcastButton(key, BroadcastAction.SKIP).pack())
    assert "at least one language" in outputs_text(forged)
    assert (await draft(world)).step == "text_zh"


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("x" * 4097, "4097 characters long; Telegram allows 4096"),
        ("💡" * 2049, "4098 characters long"),  # Telegram counts UTF-16 units: an emoji is two
        ("   \n ", "That text is empty"),
        ("pay once\x00", "invisible control characters"),
        ("pay\x1b[31m once", "invisible control characters"),
    ],
)
async def test_an_unsendable_text_is_refused_and_the_step_stays(world, typed, answer):
    await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    refused = await world.say(MERCHANT, typed)
    assert answer in outputs_text(refused) and "English text" in outputs_text(refused)  # asked again
    assert (await draft(world)).step == "text_en" and (await draft(world)).text_en is None
    accepted = await world.say(MERCHANT, "x" * 4096)
    assert "Chinese text" in outputs_text(accepted)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("2026-11-26 09:00", "already passed in Asia/Shanghai"),  # 01:00 UTC, an hour ago
        ("11-26 09:59", "already passed"),
        ("tomorrow at 9", "can't read that time"),
        ("2026-02-30 09:00", "can't read that time"),
        ("2026-12-01 25:00", "can't read that time"),
        ("2028-01-01 09:00", "more than a year ahead"),
    ],
)
async def test_an_unusable_time_is_refused_and_the_step_stays(world, typed, answer):
    await to_time_step(world)
    refused = await world.say(MERCHANT, typed)
    assert answer in outputs_text(refused) and "Tap Now" in outputs_text(refused)
    assert (await draft(world)).step == "time"
    assert await broadcasts(world) == []


def test_typed_times_are_read_in_the_zone():
    assert read_send_time("12-01 09:30", now=NOW, zone=SHANGHAI) == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    assert read_send_time("2026-11-26 10:01", now=NOW, zone=SHANGHAI) == NOW + timedelta(minutes=1)
    full_width_colon = read_send_time("2026/12/1 9：05", now=NOW, zone=SHANGHAI)
    assert full_width_colon == datetime(2026, 12, 1, 1, 5, tzinfo=UTC)
    with pytest.raises(InputRejected):
        read_send_time("2026-11-26 10:00", now=NOW, zone=SHANGHAI)  # exactly now is not in the future
    with pytest.raises(InputRejected):
        read_send_time("1" * 10_000, now=NOW, zone=SHANGHAI)
    assert check_broadcast_text("a\r\nb\tc") == "a\nb\tc"


async def test_a_time_that_passes_before_confirm_is_asked_again(world):
    await to_time_step(world)
    summary = await world.say(MERCHANT, "2026-11-26 10:10")
    world.clock.now = NOW + timedelta(minutes=15)
    late = await world.press(MERCHANT, data_of(summary, BroadcastAction.CONFIRM))
    assert "passed in the meantime" in outputs_text(late) and "Tap Now" in outputs_text(late)
    assert await broadcasts(world) == [] and (await draft(world)).step == "time"


async def test_a_double_tap_on_confirm_queues_one_broadcast(world):
    summary = await world.press(MERCHANT, data_of(await to_time_step(world), BroadcastAction.NOW))
    confirm = data_of(summary, BroadcastAction.CONFIRM)
    answers = await asyncio.gather(world.press(MERCHANT, confirm), world.press(MERCHANT, confirm))
    assert sorted("Queued as broadcast #1" in outputs_text(a) for a in answers) == [False, True]
    assert any(Toast(STALE) in a for a in answers)
    assert len(await broadcasts(world)) == 1


async def test_buttons_of_an_old_draft_or_another_step_do_nothing(world):
    old = await world.say(MERCHANT, "/broadcast")
    new = await world.say(MERCHANT, "/broadcast")
    assert await world.press(MERCHANT, data_of(old, BroadcastAction.TIP, "2")) == [Toast(STALE)]
    key = (await draft(world)).key
    for action, argument in ((BroadcastAction.CONFIRM, ""), (BroadcastAction.TIP, "9")):
        pressed = await world.press(MERCHANT, BroadcastButton(key, action, argument).pack())
        assert pressed == [Toast(STALE)]
    assert (await draft(world)).step == "pick" and (await draft(world)).tip_number is None
    picked = await world.press(MERCHANT, data_of(new, BroadcastAction.TIP, "2"))
    assert replies(picked)[1].text == TEXTS.get("en", "tip.2")
    again = await world.press(MERCHANT, data_of(new, BroadcastAction.TIP, "5"))  # the same message, once more
    assert again == [Toast(STALE)]


async def test_cancel_drops_the_draft_and_typing_goes_back_to_the_payer_desk(world):
    await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    cancelled = await world.say(MERCHANT, "/cancel")
    assert "Broadcast discarded; nothing was sent" in outputs_text(cancelled)
    assert await draft(world) is None
    assert "discarded" not in outputs_text(await world.say(MERCHANT, "/cancel"))  # the payer desk's /cancel
    assert "Chinese text" not in outputs_text(await world.say(MERCHANT, "hello"))
    summary = await world.press(MERCHANT, data_of(await to_time_step(world), BroadcastAction.NOW))
    await world.press(MERCHANT, data_of(summary, BroadcastAction.CANCEL))
    assert await draft(world) is None and await broadcasts(world) == []


async def test_typing_at_a_button_step_asks_again(world):
    await world.say(MERCHANT, "/broadcast")
    answer = await world.say(MERCHANT, "tip three please")
    assert "choose with the buttons" in outputs_text(answer) and "Write my own" in labels(answer)[-2]
    assert (await draft(world)).step == "pick"


async def test_a_draft_left_for_a_day_is_forgotten(world):
    await world.press(MERCHANT, data_of(await world.say(MERCHANT, "/broadcast"), BroadcastAction.OWN))
    world.clock.now = NOW + timedelta(days=2)
    answer = await world.say(MERCHANT, "hello")
    assert "Chinese text" not in outputs_text(answer) and await draft(world) is None


async def test_a_payer_cannot_broadcast(world):
    unknown = TEXTS.get("en", "command.unknown")
    assert unknown in outputs_text(await world.say(PAYER, "/broadcast"))
    assert unknown in outputs_text(await world.say(PAYER, "/broadcasts"))
    forged = BroadcastButton("0123abcd", BroadcastAction.CONFIRM).pack()
    assert await world.press(PAYER, forged) == [Toast(STALE)]
    async with world.db.transaction() as session:
        session.add(Broadcast(status="scheduled", source="cli", tip_number=1, scheduled_at=NOW,
                              created_at=NOW))
    assert await world.press(PAYER, BroadcastCancelButton(1).pack()) == [Toast(STALE)]
    [broadcast] = await broadcasts(world)
    assert broadcast.status == "scheduled"
    async with world.db.transaction() as session:
        assert await session.get(BroadcastDraft, PAYER) is None


async def test_broadcasts_lists_each_with_its_counts_and_cancels_an_open_one(world):
    assert "No broadcasts yet" in outputs_text(await world.say(MERCHANT, "/broadcasts"))
    async with world.db.transaction() as session:
        session.add(Broadcast(status="done", source="chat", tip_number=5, audience="all", recipients=4,
                              scheduled_at=NOW - timedelta(days=1), created_at=NOW))
        session.add(Broadcast(status="running", source="cli", text_en="Hi", audience="en", recipients=3,
                              scheduled_at=NOW, created_at=NOW))
        await session.flush()
        statuses = {1: ["sent", "sent", "dropped", "failed"], 2: ["sent", "pending", "pending"]}
        rows = [outbox_row(dedupe_key=f"bc:{b}:{i}", chat_id=i + 1, text="tip", priority=BULK, not_before=NOW,
                           broadcast_id=b) | {"status": status}
                for b, states in statuses.items() for i, status in enumerate(states)]
        await enqueue_rows(session, rows=rows)

    listing = await world.say(MERCHANT, "/broadcasts")
    text = outputs_text(listing)
    assert text.index("#2 · sending") < text.index("#1 · finished")  # newest first
    assert "Own text to English-speaking subscribers" in text and "Library tip 5 to all subscribers" in text
    assert "Sent 4 of 4: 2 delivered, 1 unreachable, 1 failed" in text
    assert "Sent 1 of 3: 1 delivered, 0 unreachable, 0 failed" in text
    assert labels(listing) == ["✖️ Cancel #2"]  # only the open one

    cancelled = await world.press(MERCHANT, BroadcastCancelButton(2).pack())
    assert "Broadcast #2 is cancelled; 2 unsent messages were dropped" in outputs_text(cancelled)
    async with world.db.transaction() as session:
        query = select(OutboxMessage.status).where(OutboxMessage.broadcast_id == 2)
        left = sorted((await session.exec(query)).all())
        assert left == [OutboxStatus.DROPPED, OutboxStatus.DROPPED, OutboxStatus.SENT]
    assert [b.status for b in await broadcasts(world)] == ["done", "cancelled"]
    again = await world.press(MERCHANT, BroadcastCancelButton(2).pack())
    assert "Broadcast #2 is already cancelled; there is nothing left to cancel" in outputs_text(again)
    finished = await world.press(MERCHANT, BroadcastCancelButton(1).pack())
    assert "already finished" in outputs_text(finished)
    assert await world.press(MERCHANT, BroadcastCancelButton(99).pack()) == [Toast(STALE)]


async def test_a_chinese_speaking_merchant_composes_in_chinese(world):
    async with world.db.transaction() as session:
        session.add(User(id=MERCHANT, first_name="m", locale="zh", locale_chosen=True, created_at=NOW))
    pick = await world.say(MERCHANT, "/broadcast")
    assert "贴士库" in outputs_text(pick) and "3 · 等待支付成功提示" in labels(pick)
    preview = await world.press(MERCHANT, data_of(pick, BroadcastAction.TIP, "3"))
    assert "所有人（3）" in labels(preview)


@pytest.mark.parametrize(
    "button",
    [
        BroadcastButton("0123abcd", BroadcastAction.TIP, "8"),
        BroadcastButton("0123abcd", BroadcastAction.AUDIENCE, "zh"),
        BroadcastButton("0123abcd", BroadcastAction.CONFIRM),
        BroadcastCancelButton(123456789012345678),
    ],
)
def test_broadcast_buttons_parse_back_what_they_pack(button):
    data = button.pack()
    assert len(data.encode()) <= 64 and type(button).parse(data) == button


@pytest.mark.parametrize(
    "data",
    ["bc:0123abcd:tip", "bc:0123abcd:tip:0", "bc:0123abcd:aud:fr", "bc:0123abcd:ok:1", "bc:0123ABCD:ok",
     "bc:0123abc:ok", "bc:0123abcd:send", "bc::ok", "bcx:0", "bcx:-1", "bcx:1:2", "bcx:abc",
     "bc:0123abcd:tip:١", "bc:0123abcd:tip:100"],
)
def test_forged_broadcast_buttons_are_refused(data):
    assert BroadcastButton.parse(data) is None and BroadcastCancelButton.parse(data) is None


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_preview_shows_the_button_row_the_delivery_stores(locale):
    from handlers.delivery.notices import buttons_json
    from handlers.merchant.compose import recipient_buttons
    from handlers.merchant.delivery import stop_tips_buttons

    assert buttons_json(recipient_buttons(TEXTS, locale)) == stop_tips_buttons(TEXTS, locale)
