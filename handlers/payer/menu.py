"""The payer's menu, help, language and ticket list."""

from handlers.buttons import (
    HelpButton,
    HelpTopic,
    LanguageButton,
    MenuButton,
    MenuCommand,
    TicketAction,
    TicketButton,
)
from handlers.events import Button
from handlers.money import Money
from handlers.payer.tips import ask_about_tips_once, tips_buttons
from handlers.payer.turn import Turn
from handlers.refunds.lifecycle import PAYER_CANCELLABLE
from handlers.texts import format_moment, format_money
from locales import LANGUAGES
from storage.models import TicketStatus
from storage.tickets import tickets_of_user
from storage.users import choose_locale

HELP_TOPICS = tuple(HelpTopic)
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


def menu_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    """Report, my refunds, help, language."""
    return (
        (turn.button("menu.report", MenuButton(MenuCommand.REPORT).pack()),),
        (
            turn.button("menu.status", MenuButton(MenuCommand.STATUS).pack()),
            turn.button("menu.help", MenuButton(MenuCommand.HELP).pack()),
        ),
        (turn.button("menu.language", MenuButton(MenuCommand.LANGUAGE).pack()),),
    )


def welcome(turn: Turn) -> None:
    """/start: who the bot is and what it can do; the first time also whether they want tips (one message)."""
    text, buttons = turn.t("start.welcome", name=turn.user.first_name or ""), menu_buttons(turn)
    if (question := ask_about_tips_once(turn)) is not None:
        text, buttons = f"{text}\n\n{question}", buttons + tips_buttons(turn)
    turn.say(text, buttons)


def show_menu_hint(turn: Turn) -> None:
    """Text with no report in progress: point at the menu."""
    turn.say(turn.t("idle.hint"), menu_buttons(turn))


def show_help(turn: Turn) -> None:
    """/help: the five common questions as buttons."""
    rows = tuple((turn.button(f"help.{topic}.question", HelpButton(topic).pack()),) for topic in HELP_TOPICS)
    turn.say(turn.t("help.intro"), rows)


def answer_help(turn: Turn, topic: str) -> bool:
    """One help answer; False for an unknown topic."""
    if topic not in HELP_TOPICS:
        return False
    turn.say(turn.t(f"help.{topic}.question") + "\n\n" + turn.t(f"help.{topic}.answer"))
    return True


def offer_languages(turn: Turn) -> None:
    """/language: pick English or Chinese."""
    buttons = tuple(Button(LANGUAGE_NAMES[code], LanguageButton(code).pack()) for code in LANGUAGES)
    turn.say(turn.t("language.choose"), (buttons,))


async def set_language(turn: Turn, code: str) -> bool:
    """Switch the user's language; False for an unknown code."""
    if code not in LANGUAGES:
        return False
    await choose_locale(turn.session, user=turn.user, locale=code)
    turn.say(turn.t("language.set", language=LANGUAGE_NAMES[code]))
    return True


async def list_tickets(turn: Turn) -> None:
    """/status: the payer's tickets with status and amount."""
    tickets = await tickets_of_user(turn.session, user_id=turn.user.id)
    if not tickets:
        turn.say(turn.t("status.none"), menu_buttons(turn))
        return
    lines = [turn.t("status.header")]
    for ticket in tickets:
        money = Money.from_minor(ticket.amount_minor, ticket.currency)
        lines.append(turn.t(
            "status.line",
            reference=ticket.reference,
            amount=format_money(money.amount, money.currency, turn.locale),
            order=ticket.order_id or turn.t("review.no_order"),
            status=turn.t(f"status.{ticket.status}"),
            filed=format_moment(ticket.created_at, turn.rules.zone, turn.locale, day_only=True),
        ))
    cancellable = [t for t in tickets if t.status in PAYER_CANCELLABLE and t.status != TicketStatus.APPROVED]
    buttons = tuple(
        (turn.button("button.cancel_ticket", TicketButton(t.reference, TicketAction.CANCEL).pack(),
                     reference=t.reference),)
        for t in cancellable[:5]
    )
    turn.say("\n".join(lines), buttons)
