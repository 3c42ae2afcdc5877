"""Tips: asked once at /start; only payers who said yes (and are reachable) get them; /tips, "Stop tips"."""

import pytest

from handlers.buttons import LanguageButton, TipsButton, TipsChoice
from handlers.events import Reply, Toast
from storage.models import User
from storage.users import set_reachable, tip_recipients, tip_subscriber_counts
from tests.money.conftest import World, make_world, outputs_text

ANN, BOB, CHEN = 1001, 1002, 1003
ON, OFF = TipsButton(TipsChoice.ON).pack(), TipsButton(TipsChoice.OFF).pack()


@pytest.fixture
def world(db, tmp_path) -> World:
    return make_world(db, tmp_path)


async def user(world: World, user_id: int) -> User:
    async with world.db.transaction() as session:
        found = await session.get(User, user_id)
        assert found is not None
        return found


async def recipients(world: World, audience: str = "all") -> list[tuple[int, str]]:
    async with world.db.transaction() as session:
        return await tip_recipients(session, audience=audience)


def button_data(outputs) -> set[str]:
    return {b.data for o in outputs if isinstance(o, Reply) for row in o.buttons for b in row}


async def test_start_asks_once_and_a_payer_who_never_answers_gets_no_tips(world):
    first = await world.say(ANN, "/start")
    [welcome] = first  # one message: the welcome with the question and both buttons under the menu
    assert "payment-safety tips" in welcome.text and "Refund Assistant" in welcome.text
    assert {ON, OFF} <= button_data(first)
    ann = await user(world, ANN)
    assert (ann.tips_asked, ann.tips) == (True, None)
    assert await recipients(world) == []

    again = await world.say(ANN, "/start")
    assert "payment-safety tips" not in outputs_text(again) and not {ON, OFF} & button_data(again)


async def test_yes_at_start_subscribes_and_no_does_not(world):
    await world.say(ANN, "/start")
    await world.say(BOB, "/start")
    assert "Tips are on" in outputs_text(await world.press(ANN, ON))
    assert "Tips are off" in outputs_text(await world.press(BOB, OFF))
    assert await recipients(world) == [(ANN, "en")]
    assert ((await user(world, BOB)).tips, (await user(world, ANN)).tips) == (False, True)


async def test_recipients_follow_the_audience_and_leave_out_unreachable_payers(world):
    for payer in (ANN, BOB, CHEN):
        await world.say(payer, "/tips on")
    await world.press(CHEN, LanguageButton("zh").pack())
    async with world.db.transaction() as session:
        await set_reachable(session, user_id=BOB, reachable=False)  # blocked the bot
    assert await recipients(world) == [(ANN, "en"), (CHEN, "zh")]
    assert await recipients(world, "en") == [(ANN, "en")]
    assert await recipients(world, "zh") == [(CHEN, "zh")]
    async with world.db.transaction() as session:
        assert await tip_subscriber_counts(session) == {"en": 1, "zh": 1}


async def test_tips_command_switches_and_tells_the_current_choice(world):
    unset = await world.say(ANN, "/tips")
    assert "haven't chosen" in outputs_text(unset) and {ON, OFF} <= button_data(unset)
    assert "Tips are on" in outputs_text(await world.say(ANN, "/tips on"))
    assert "You get the merchant's" in outputs_text(await world.say(ANN, "/tips"))
    assert "Tips are off" in outputs_text(await world.say(ANN, "/tips OFF"))
    assert "You don't get" in outputs_text(await world.say(ANN, "/tips"))
    assert "/tips on" in outputs_text(await world.say(ANN, "/tips maybe"))
    assert "/tips on" in outputs_text(await world.say(ANN, "/tips " + "on" * 5000))
    assert (await user(world, ANN)).tips is False


async def test_stop_tips_under_a_tip_unsubscribes_and_says_how_to_come_back(world):
    await world.say(ANN, "/tips on")
    answer = await world.press(ANN, OFF)  # the button every broadcast tip carries
    [reply] = answer
    assert isinstance(reply, Reply) and "/tips on" in reply.text
    assert await recipients(world) == []


@pytest.mark.parametrize("data", ["tips:maybe", "tips:on:x", "tips:", "tips", "tips:ON", "tips:on\u00e9"])
async def test_a_forged_tips_button_gets_the_stale_toast_and_changes_nothing(world, data):
    await world.say(ANN, "/tips on")
    answer = await world.press(ANN, data)
    assert [type(o) for o in answer] == [Toast] and "no longer does anything" in answer[0].text
    assert await recipients(world) == [(ANN, "en")]


async def test_chinese_payers_are_asked_in_chinese(world):
    await world.say(CHEN, "/start")
    await world.press(CHEN, LanguageButton("zh").pack())
    assert "小贴士" in outputs_text(await world.say(CHEN, "/tips"))
