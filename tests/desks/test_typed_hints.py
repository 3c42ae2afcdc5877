"""At the desk: what stays unreadable, or is far too long, gets the localized hint and the same question."""

import pytest

from handlers.events import EventKind, Person, Reply
from handlers.payer.intake import Step
from tests.desks.test_fuzz_report_steps import TEXTS, Bench, open_bench

PAYERS = {"en": Person(5001, language_code="en"), "zh": Person(5002, language_code="zh-hans")}
QUESTIONS = {Step.ORDER: "ask.order", Step.AMOUNT: "ask.amount", Step.PAID_AT: "ask.paid_at"}


@pytest.fixture
async def bench(tmp_path):
    opened = await open_bench(tmp_path)
    yield opened
    await opened.desk.db.dispose()


async def answer_at(bench: Bench, step: Step, locale: str, text: str) -> str:
    bench.person = PAYERS[locale]
    await bench.go_to(step)
    [reply] = [o for o in await bench.send(EventKind.TEXT, text=text) if isinstance(o, Reply)]
    assert await bench.report() == bench.start
    return reply.text


def question(step: Step, locale: str) -> str:
    return TEXTS.get(locale, QUESTIONS[step], currency="CNY")


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("typed", ["ninety nine", "99块多", "十几块", "99 99", "大概99"])
async def test_an_unreadable_amount_gets_the_hint(bench, locale, typed):
    text = await answer_at(bench, Step.AMOUNT, locale, typed)
    assert TEXTS.get(locale, "amount.not_a_number") in text and question(Step.AMOUNT, locale) in text


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("typed", ["whenever", "不记得了", "1430", "一会儿前", "last blursday"])
async def test_an_unreadable_time_gets_the_hint(bench, locale, typed):
    text = await answer_at(bench, Step.PAID_AT, locale, typed)
    assert TEXTS.get(locale, "paid_at.unreadable") in text and question(Step.PAID_AT, locale) in text


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize(
    ("step", "key", "limit"),
    [(Step.ORDER, "order.too_long", 64), (Step.AMOUNT, "amount.too_long", 64),
     (Step.PAID_AT, "paid_at.too_long", 100)],
)
async def test_a_4_kb_answer_is_refused_as_too_long(bench, locale, step, key, limit):
    text = await answer_at(bench, step, locale, "9" * 4096)
    assert TEXTS.get(locale, key, length=4096, max=limit) in text and question(step, locale) in text


@pytest.mark.parametrize("locale", ["en", "zh"])
async def test_an_ambiguous_date_is_asked_about(bench, locale):
    text = await answer_at(bench, Step.PAID_AT, locale, "10/11/2026 14:30")
    assert TEXTS.get(locale, "paid_at.ambiguous_date", first="2026-11-10", second="2026-10-11") in text
