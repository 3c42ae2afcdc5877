"""A payer's choice about the merchant's payment-safety tips: asked once at /start, /tips, "Stop tips"."""

from handlers.buttons import TipsButton, TipsChoice
from handlers.events import Button
from handlers.payer.turn import Turn

MAX_ARGUMENT = 16  # "/tips on" takes one short word; anything longer is not read
ANSWERS = {"on": TipsChoice.ON, "off": TipsChoice.OFF}


def tips_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    """Yes / No, thanks."""
    return ((
        turn.button("tips.yes_button", TipsButton(TipsChoice.ON).pack()),
        turn.button("tips.no_button", TipsButton(TipsChoice.OFF).pack()),
    ),)


def ask_about_tips_once(turn: Turn) -> str | None:
    """At /start, for a payer never asked: do they want tips? (None come until they answer.)"""
    if turn.user.tips_asked:
        return None
    turn.user.tips_asked = True
    turn.session.add(turn.user)
    return turn.t("tips.ask")


def tips_command(turn: Turn) -> None:
    """/tips on|off switches; /tips alone says the current choice with the two buttons."""
    argument = turn.event.args.strip()
    if not argument:
        key = {True: "tips.state_on", False: "tips.state_off", None: "tips.state_unset"}[turn.user.tips]
        turn.say(turn.t(key), tips_buttons(turn))
        return
    choice = ANSWERS.get(argument.lower()) if len(argument) <= MAX_ARGUMENT else None
    if choice is None:
        turn.say(turn.t("tips.usage"))
        return
    choose_tips(turn, choice)


def press_tips_button(turn: Turn, button: TipsButton) -> None:
    """The answer to the /start question, /tips' buttons, or "Stop tips" under a tip."""
    choose_tips(turn, button.choice)


def choose_tips(turn: Turn, choice: TipsChoice) -> None:
    """Record the payer's choice and say how to change it."""
    turn.user.tips = choice is TipsChoice.ON
    turn.user.tips_asked = True
    turn.session.add(turn.user)
    turn.say(turn.t("tips.turned_on" if turn.user.tips else "tips.turned_off"))
