"""A payer editing a message they already sent changes nothing and gets no reply, on either runtime."""

from tests.e2e.conftest import image_bytes
from tests.e2e.test_bad_inputs import AMOUNT_Q, TIME_Q


async def bot_and_user_turns(client, chat: int) -> list[bool]:
    """Who wrote each message of the chat, in order: True for the bot."""
    return [message["sandbox"]["from_bot"] for message in await client.messages(chat)]


async def test_editing_the_order_number_mid_report_changes_nothing_and_gets_no_reply(
    harness, payer, client, sandbox
):
    await payer.say("/report")
    order = await client.send_text(payer.id, "A1")
    order_id = order["message"]["message_id"]
    [asked] = await client.wait_for_bot_messages(payer.id, after_message_id=order_id, timeout=15)
    assert AMOUNT_Q in asked["text"]

    edited = await client.edit_text(payer.id, order_id, "B2")
    assert edited["update_id"] is None  # the runners' allowed_updates leave edited_message out

    # Telegram applies allowed_updates only to updates made after the call: an edit made while a bot polling
    # with the default list ran (an older deployment, say) still reaches the next one.
    await harness.stop()
    sandbox.state.updates.set_allowed([])
    late = await client.edit_text(payer.id, order_id, "C3")
    assert [update["update_id"] for update in await client.pending_updates()] == [late["update_id"]]
    await harness.start()

    reply = await payer.ask("99")
    assert "Amount: CN¥99.00." in reply["text"] and TIME_Q in reply["text"]
    await payer.say("today 09:30")
    [review] = await payer.photo(image_bytes())
    assert "Order number: A1" in review["text"] and "B2" not in review["text"] and "C3" not in review["text"]
    assert await bot_and_user_turns(client, payer.id) == [False, True] * 5  # one reply to each message
    assert not [update for update in await client.pending_updates() if "edited_message" in update]
