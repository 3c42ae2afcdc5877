"""The report conversation's transition table, read as data."""

from handlers.payer.intake import EXPECTED, NEXT_STEP, TRANSITIONS, Input, Step


def test_the_questions_come_in_order():
    step, path = Step.ORDER, [Step.ORDER]
    while step in NEXT_STEP:
        step = NEXT_STEP[step]
        path.append(step)
    assert path == [Step.ORDER, Step.AMOUNT, Step.PAID_AT, Step.SCREENSHOT, Step.REVIEW]


def test_each_step_takes_exactly_its_inputs():
    accepted = {step: set(inputs) for step, inputs in TRANSITIONS.items()}
    assert accepted == {
        Step.ORDER: {Input.TEXT, Input.NO_ORDER},
        Step.AMOUNT: {Input.TEXT},
        Step.PAID_AT: {Input.TEXT, Input.DAY},
        Step.SCREENSHOT: {Input.IMAGE, Input.BILL},
        Step.REVIEW: {Input.SUBMIT, Input.EDIT, Input.CANCEL},
    }


def test_stickers_and_voice_are_taken_nowhere():
    assert all(Input.OTHER not in inputs for inputs in TRANSITIONS.values())


def test_every_step_says_what_it_expects_otherwise():
    assert set(EXPECTED) == set(Step) == set(TRANSITIONS)
