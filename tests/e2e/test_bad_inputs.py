"""Every rejected input gets a localized reason, and the same question stands."""

import pytest

from tests.e2e.conftest import Payer, image_bytes

ORDER_Q, AMOUNT_Q, TIME_Q, SHOT_Q = ("What is the order number?", "How much were you charged twice?",
                                     "When did you pay?", "Please send a screenshot")


async def at_step(payer: Payer, step: str) -> None:
    await payer.say("/report")
    answers = {"amount": ["A1"], "time": ["A1", "99"], "screenshot": ["A1", "99", "today 10:00"]}
    for text in answers.get(step, []):
        await payer.say(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("🙂🙂🙂", "uses only letters, digits"),
        ("x" * 65, "That's 65 characters"),
        ("ORD\x07123", "invisible control characters"),
        ("ORD 123", "without spaces"),
        ("\u200b\u200b", "invisible control characters"),
    ],
)
async def test_bad_order_numbers(harness, payer, text, reason):
    await at_step(payer, "order")
    reply = await payer.ask(text)
    assert reason in reply["text"] and ORDER_Q in reply["text"]
    assert AMOUNT_Q in (await payer.ask("A1"))["text"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "couldn't read that as an amount"),
        ("0", "more than zero"),
        ("-5", "can't be negative"),
        ("NaN", "couldn't read that as an amount"),
        ("inf", "couldn't read that as an amount"),
        ("99999999", "too large"),
        ("1" * 400, "too long for an amount"),
        ("99.001", "at most 2 decimal places"),
    ],
)
async def test_bad_amounts(harness, payer, text, reason):
    await at_step(payer, "amount")
    reply = await payer.ask(text)
    assert reason in reply["text"] and AMOUNT_Q in reply["text"]
    assert TIME_Q in (await payer.ask("99.00"))["text"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tomorrow 10:00", "in the future"),
        ("2026-11-26 23:59", "in the future"),
        ("2025-01-01 10:00", "more than 180 days ago"),
        ("whenever", "couldn't read that as a date"),
    ],
)
async def test_bad_payment_times(harness, payer, text, reason):
    await at_step(payer, "time")
    reply = await payer.ask(text)
    assert reason in reply["text"] and TIME_Q in reply["text"]
    assert SHOT_Q in (await payer.ask("2026-11-26 09:15"))["text"]


@pytest.mark.parametrize("kind", ["sticker", "voice", "video", "location"])
async def test_not_an_image_at_the_screenshot_step(harness, payer, kind):
    await at_step(payer, "screenshot")
    reply = await payer.other(kind)
    assert "I need a screenshot of the payment record" in reply["text"] and SHOT_Q in reply["text"]
    [review] = await payer.photo(image_bytes())
    assert "Please check your report" in review["text"]


@pytest.mark.parametrize(
    ("data", "name", "mime", "reason"),
    [
        (b"%PDF-1.4 not an image", "receipt.pdf", "application/pdf", "isn't an image I can use"),
        (b"just text pretending", "receipt.jpg", "image/jpeg", "isn't an image I can use"),
        (image_bytes("GIF"), "receipt.gif", "image/gif", "isn't an image I can use"),
        (image_bytes("BMP"), "receipt.png", "image/png", "isn't an image I can use"),
    ],
)
async def test_files_that_are_not_usable_images(harness, payer, data, name, mime, reason):
    await at_step(payer, "screenshot")
    [reply] = await payer.document(data, name, mime)
    assert reason in reply["text"] and SHOT_Q in reply["text"]


async def test_an_image_over_10_mb(harness, payer):
    await at_step(payer, "screenshot")
    [declared] = await payer.photo(image_bytes(), declared_file_size=11 * 1024 * 1024)
    assert "larger than 10 MB" in declared["text"]
    huge = image_bytes("PNG") + b"\0" * (10 * 1024 * 1024)
    [actual] = await payer.document(huge, "big.png", "image/png", declared_file_size=1000)
    assert "larger than 10 MB" in actual["text"] and SHOT_Q in actual["text"]


async def test_an_album_takes_the_first_image(harness, payer, client):
    await at_step(payer, "screenshot")
    first = image_bytes("PNG", (10, 10))
    sent = await client.send_photo(payer.id, first, media_group_id="album-1")
    await client.send_photo(payer.id, image_bytes("PNG", (20, 20)), media_group_id="album-1")
    await client.send_photo(payer.id, image_bytes("PNG", (30, 30)), media_group_id="album-1")
    [review] = await client.wait_for_bot_messages(payer.id, after_message_id=sent["message"]["message_id"],
                                                  count=1, timeout=15)
    assert "I kept the first one" in review["text"] and "Please check your report" in review["text"]
    status, still_open = await payer.say("/status", count=2)
    assert "haven't reported" in status["text"] and "still open" in still_open["text"]
    messages = await client.messages(payer.id)
    between = [m for m in messages if sent["message"]["message_id"] < m["message_id"] < status["message_id"]
               and m.get("from", {}).get("is_bot")]
    assert between == [review]


async def test_wrong_kind_of_input_at_text_steps(harness, payer):
    await at_step(payer, "order")
    [reply] = await payer.photo(image_bytes())
    assert "I need the order number here, as text" in reply["text"] and ORDER_Q in reply["text"]
    await payer.say("A1")
    assert "I need the amount here" in (await payer.other("sticker"))["text"]


@pytest.mark.parametrize("step", ["order", "amount", "time", "screenshot"])
async def test_any_text_of_any_length_never_crashes_a_step(harness, payer, step):
    await at_step(payer, step)
    for text in ["ａ" * 4096, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ‮ reversed \u202e", "' OR 1=1; --", "<b>not html</b> & {name}",
                 "\U0001F600" * 1000]:
        reply = await payer.ask(text)
        assert "⚠️" in reply["text"] and "went wrong" not in reply["text"]


async def test_text_at_the_review_points_to_the_buttons(harness, payer):
    await at_step(payer, "screenshot")
    await payer.photo(image_bytes())
    reply = await payer.ask("submit please")
    assert "use the buttons below" in reply["text"] and "Please check your report" in reply["text"]


async def test_forged_and_unknown_buttons_change_nothing(harness, payer, client):
    await at_step(payer, "amount")
    before = await payer.last_message_id()
    forged = ["in:deadbeef:submit", "menu:nuke", "lang:fr", "help:../../etc", "x" * 64, "in::edit:review"]
    for data in forged:
        await client.press(payer.id, before, data, forge=True)
    reply = await payer.ask("12.50")
    assert TIME_Q in reply["text"]
    answers = await client.callback_answers()
    assert len(answers) == len(forged)
    assert all("no longer does anything" in (a.get("text") or "") for a in answers)
    assert await payer.last_message_id() == reply["message_id"]
