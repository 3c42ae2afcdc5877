"""A payer reports a duplicate charge through the real runtime and the sandbox, in both languages."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.tickets import all_tickets, matches_of
from telegram_sandbox.client import button_data, buttons
from tests.e2e.conftest import Payer, image_bytes

CHARGE_1 = datetime(2026, 11, 26, 6, 32, 0, tzinfo=UTC)
CHARGE_2 = datetime(2026, 11, 26, 6, 32, 40, tzinfo=UTC)


async def tickets(harness):
    async with harness.running.services.db.transaction() as session:
        return await all_tickets(session)


async def report_until_review(payer: Payer, order: str = "A1", amount: str = "99",
                              paid: str = "2026-11-26 14:32") -> dict:
    """Walk the four questions with good answers; return the review message."""
    await payer.say("/report")
    await payer.say(order)
    await payer.say(amount)
    await payer.say(paid)
    [review] = await payer.photo(image_bytes())
    return review


@pytest.mark.parametrize("harness", ["sqlite", "postgresql"], indirect=True)
async def test_a_confirmed_duplicate_in_english(harness, payer: Payer):
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("tx2", "A1", "99.00", "CNY", "succeeded", CHARGE_2),
                                 ("tx3", "B7", "99.00", "CNY", "succeeded", CHARGE_1))
    welcome = await payer.ask("/start")
    assert "Refund Assistant" in welcome["text"]
    assert [label for label, _ in buttons(welcome)] == [
        "Report a duplicate charge", "My refunds", "Help", "Language / 语言",
        "Yes, send me tips", "No, thanks"]  # the first /start also asks about tips, in the same message
    [ask_order] = await payer.press(welcome, "Report a duplicate charge")
    assert "What is the order number?" in ask_order["text"]
    assert "I don't have it" in [label for label, _ in buttons(ask_order)]

    ask_amount = await payer.ask("A1")
    assert "Order number: A1." in ask_amount["text"] and "How much" in ask_amount["text"]
    ask_time = await payer.ask("99")
    assert "Amount: CN¥99.00." in ask_time["text"] and "When did you pay?" in ask_time["text"]
    assert [label for label, _ in buttons(ask_time)] == ["Today", "Yesterday"]
    ask_screenshot = await payer.ask("2026-11-26 14:32")
    assert "Paid: Nov 26, 2026 2:32\u202fPM." in ask_screenshot["text"]
    picture = image_bytes("JPEG")
    [review] = await payer.photo(picture)
    assert "Order number: A1" in review["text"] and "CN¥99.00" in review["text"]
    assert buttons(review)[0][0] == "✅ Submit"

    [filed] = await payer.press(review, "Submit")
    assert "filed as RF-" in filed["text"]
    charge_time = "Nov 26, 2026 2:32\u202fPM"
    assert f"We found 2 charges of CN¥99.00 on order A1 ({charge_time} and {charge_time})" in filed["text"]
    [stored] = await tickets(harness)
    assert (stored.status, stored.order_id, stored.amount_minor, stored.currency) == (
        "verified", "A1", 9900, "CNY")
    assert stored.reference in filed["text"]
    assert stored.paid_at == datetime(2026, 11, 26, 6, 32, tzinfo=UTC)
    assert stored.evidence_sha256 == hashlib.sha256(picture).hexdigest()
    evidence = harness.running.services.evidence
    assert await evidence.load(stored.evidence_sha256) == picture
    async with harness.running.services.db.transaction() as session:
        matched = await matches_of(session, ticket_id=stored.id)
    assert sorted((m.transaction_id, m.role) for m in matched) == [("tx1", "original"),
                                                                   ("tx2", "duplicate")]
    status = await payer.ask("/status")
    assert stored.reference in status["text"] and "duplicate confirmed" in status["text"]


async def test_a_report_in_chinese(harness, client):
    payer = await Payer(client, 2002, language_code="zh-hans", first_name="小明").join()
    await harness.import_charges(("c1", "20261125001", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("c2", "20261125001", "99.00", "CNY", "succeeded", CHARGE_2))
    welcome = await payer.ask("/start")
    assert "小明，你好！我是退款助手" in welcome["text"]
    assert "报告重复扣款" in [label for label, _ in buttons(welcome)]
    assert "订单号是多少" in (await payer.ask("/report"))["text"]
    assert "被重复扣了多少钱" in (await payer.ask("２０２６１１２５００１"))["text"]
    assert "金额：¥99.00" in (await payer.ask("¥99"))["text"]
    ask_screenshot = await payer.ask("今天 下午2点32分")
    assert "付款时间：2026年11月26日 14:32。" in ask_screenshot["text"]
    [review] = await payer.document(image_bytes("WEBP"), "付款.webp", "image/webp")
    assert "请核对你的报告" in review["text"]
    [filed] = await payer.press(review, "提交")
    assert "你的报告已提交" in filed["text"] and "确认存在重复扣款" in filed["text"]
    [stored] = await tickets(harness)
    assert (stored.status, stored.locale, stored.order_id) == ("verified", "zh", "20261125001")


async def test_an_order_with_no_matching_charge_goes_to_a_person_and_reveals_nothing(harness, payer):
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("tx2", "A1", "15.00", "CNY", "succeeded", CHARGE_2))
    review = await report_until_review(payer, order="A1", amount="99")
    [filed] = await payer.press(review, "Submit")
    assert "A support agent will check it" in filed["text"]
    assert "15" not in filed["text"] and "14:32" not in filed["text"]
    [stored] = await tickets(harness)
    assert stored.status == "needs_review"


async def test_unknown_order_and_no_order_number_need_review(harness, payer):
    review = await report_until_review(payer, order="NOPE-1")
    [filed] = await payer.press(review, "Submit")
    assert "A support agent will check it" in filed["text"]
    await payer.say("/report")
    [ask_amount] = await payer.press(await _last_bot_message(payer), "I don't have it")
    assert "a support agent will look the charge up" in ask_amount["text"]
    await payer.say("5")
    [ask_screenshot] = await payer.press(await _last_bot_message(payer), "Yesterday")
    assert "Paid: Nov 25, 2026." in ask_screenshot["text"]
    [review] = await payer.photo(image_bytes())
    assert "Order number: not given" in review["text"]
    await payer.press(review, "Submit")
    statuses = sorted((t.order_id or "-", t.status, t.paid_on_day_only) for t in await tickets(harness))
    assert statuses == [("-", "needs_review", True), ("NOPE-1", "needs_review", False)]


async def _last_bot_message(payer: Payer) -> dict:
    messages = await payer.client.messages(payer.id)
    return [m for m in messages if m.get("from", {}).get("is_bot")][-1]


async def test_an_already_refunded_duplicate_files_nothing(harness, payer):
    await harness.import_charges(("tx1", "A1", "99.00", "CNY", "succeeded", CHARGE_1),
                                 ("tx2", "A1", "99.00", "CNY", "refunded", CHARGE_2))
    review = await report_until_review(payer)
    [answer] = await payer.press(review, "Submit")
    assert "has already been refunded" in answer["text"]
    assert await tickets(harness) == []


async def test_an_open_ticket_for_the_order_is_pointed_out(harness, payer):
    review = await report_until_review(payer, order="A1")
    [filed] = await payer.press(review, "Submit")
    [stored] = await tickets(harness)
    await payer.say("/report")
    again = await payer.ask("A1")
    assert f"You already have an open report for this order: {stored.reference}" in again["text"]
    assert "What is the order number?" in again["text"]
    assert "How much" in (await payer.ask("A2"))["text"]
    assert len(await tickets(harness)) == 1 and "filed as" in filed["text"]


async def test_edit_a_field_from_the_review(harness, payer):
    review = await report_until_review(payer, amount="99")
    [ask_amount] = await payer.press(review, "Edit amount")
    assert "How much" in ask_amount["text"]
    [new_review] = await payer.say("$49.99")
    assert "Please check your report" in new_review["text"] and "$49.99" in new_review["text"]
    await payer.press(new_review, "Submit")
    [stored] = await tickets(harness)
    assert (stored.amount_minor, stored.currency) == (4999, "USD")


async def test_cancel_at_any_step_and_when_idle(harness, payer):
    assert "nothing to cancel" in (await payer.ask("/cancel"))["text"]
    await payer.say("/report")
    await payer.say("A1")
    assert "Report cancelled. Nothing was filed." in (await payer.ask("/cancel"))["text"]
    assert "Choose what you'd like to do" in (await payer.ask("99"))["text"]
    review = await report_until_review(payer)
    review_submit_data = button_data(review, "Submit")
    [cancelled] = await payer.press(review, "Cancel")
    assert "Report cancelled" in cancelled["text"]
    await payer.client.press(payer.id, review["message_id"], review_submit_data, forge=True)
    assert "Choose what you'd like to do" in (await payer.ask("hello"))["text"]
    answers = await payer.client.callback_answers()
    assert "no longer does anything" in answers[-1]["text"]
    assert await tickets(harness) == []


async def test_switching_language_mid_report_asks_again_in_the_new_language(harness, payer):
    await payer.say("/report")
    choose = await payer.ask("/language")
    [switched, question] = await payer.press(choose, "中文", count=2)
    assert "语言已设置为中文" in switched["text"]
    assert "订单号是多少" in question["text"]


async def test_help_answers_the_five_questions_in_both_languages(harness, payer, client):
    menu = await payer.ask("/help")
    labels = [label for label, _ in buttons(menu)]
    assert labels == ["Why was I charged twice?", "How can I avoid it?", "What should I do now?",
                      "What do merchants do about it?", "What are my rights?"]
    [why] = await payer.press(menu, "Why was I charged twice?")
    assert "network was unstable" in why["text"] and "tapped again" in why["text"]
    chinese = await Payer(client, 3003, language_code="zh-TW").join()
    menu = await chinese.ask("/help")
    [rights] = await chinese.press(menu, "我有哪些权利")
    assert "有权要回重复支付的款项" in rights["text"]


async def test_tickets_json_lists_the_filed_ticket(harness, payer):
    review = await report_until_review(payer, order="Z-9", amount="¥1,299.50")
    await payer.press(review, "Submit")
    cli = str(Path(sys.executable).with_name("refund-bot"))
    environment = {**os.environ, "BOT_TOKEN": "1:x", "DATABASE_URL": harness.database_url,
                   "DATA_DIR": str(harness.data_dir)}
    result = await asyncio.to_thread(subprocess.run, [cli, "tickets", "--json"], env=environment,
                                     capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["reference"].startswith("RF-") and len(row["reference"]) == 11
    assert (row["order_id"], row["user_id"], row["amount"], row["currency"], row["status"]) == (
        "Z-9", payer.id, "1299.50", "CNY", "needs_review")
    assert row["created_at"].endswith("+00:00")
