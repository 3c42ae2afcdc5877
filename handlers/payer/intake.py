"""The report conversation: a transition table from (step, input) to what happens."""

import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from handlers.buttons import ReportAction, ReportButton
from handlers.events import Button, ClearButtons, EventKind, Toast
from handlers.evidence.bills import check_declared_bill
from handlers.evidence.images import check_declared_file
from handlers.evidence.receiving import keep_evidence, received_bill, received_image
from handlers.matching import ChargeRole
from handlers.money import Money
from handlers.parsing import (
    InputRejected,
    check_payment_time,
    day_start,
    parse_amount,
    parse_order_number,
    parse_payment_time,
)
from handlers.payer.filing import Filing, FilingResult, file_report
from handlers.payer.limits import filing_record_of, refusal_given, report_refusal
from handlers.payer.turn import Turn
from handlers.payer.wallet_bill import choose_pair, fill_from_bill
from handlers.refunds.refunding import RefundPolicy, approve_if_allowed
from handlers.texts import format_items, format_moment, format_money
from storage.conversations import clear_report
from storage.models import Refund, RefundStatus, Ticket, TicketStatus, Transaction
from storage.tickets import open_ticket_for_order, ticket_by_id, ticket_by_report_key


class Step(StrEnum):
    """Where a report stands."""

    ORDER = "order"
    AMOUNT = "amount"
    PAID_AT = "paid_at"
    SCREENSHOT = "screenshot"
    REVIEW = "review"


class Input(StrEnum):
    """What the payer did, as far as the conversation cares."""

    TEXT = "text"
    IMAGE = "image"
    BILL = "bill"  # a CSV (or spreadsheet) document: the payer's wallet bill
    OTHER = "other"
    NO_ORDER = "no_order"
    DAY = "day"
    SUBMIT = "submit"
    EDIT = "edit"
    CANCEL = "cancel"


NEXT_STEP = {
    Step.ORDER: Step.AMOUNT,
    Step.AMOUNT: Step.PAID_AT,
    Step.PAID_AT: Step.SCREENSHOT,
    Step.SCREENSHOT: Step.REVIEW,
}
EXPECTED = {
    Step.ORDER: "wrong_input.order",
    Step.AMOUNT: "wrong_input.amount",
    Step.PAID_AT: "wrong_input.paid_at",
    Step.SCREENSHOT: "wrong_input.screenshot",
    Step.REVIEW: "wrong_input.review",
}


def button_data(turn: Turn, action: ReportAction, argument: str = "") -> str:
    """Callback data of a report button, tied to this report so old buttons cannot act."""
    return ReportButton(turn.conversation.report_key or "-", action, argument).pack()


# --- the questions ------------------------------------------------------------------------


def ask(turn: Turn, step: Step, lead: str = "") -> None:
    """Ask the question of a step (after an optional lead line)."""
    text, buttons = question(turn, step)
    turn.say(f"{lead}\n\n{text}" if lead else text, buttons)


def question(turn: Turn, step: Step) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The text and buttons of a step's question."""
    match step:
        case Step.ORDER:
            return turn.t("ask.order"), (
                (turn.button("button.no_order", button_data(turn, ReportAction.NO_ORDER)),),
            )
        case Step.AMOUNT:
            return turn.t("ask.amount", currency=turn.rules.default_currency), ()
        case Step.PAID_AT:
            return turn.t("ask.paid_at"), (
                (
                    turn.button("button.today", button_data(turn, ReportAction.DAY, "today")),
                    turn.button("button.yesterday", button_data(turn, ReportAction.DAY, "yesterday")),
                ),
            )
        case Step.SCREENSHOT:
            return turn.t("ask.screenshot_or_bill" if turn.rules.merchant_names else "ask.screenshot"), ()
        case Step.REVIEW:
            return review_text(turn), review_buttons(turn)


def review_text(turn: Turn) -> str:
    """The collected report, for the payer to check."""
    report = turn.conversation
    # The review comes after every field was collected.
    assert report.amount_minor is not None and report.currency is not None and report.paid_at is not None
    amount = Money.from_minor(report.amount_minor, report.currency)
    return turn.t(
        "review.summary",
        order=report.order_id or turn.t("review.no_order"),
        amount=format_money(amount.amount, amount.currency, turn.locale),
        paid_at=format_moment(report.paid_at, turn.rules.zone, turn.locale, day_only=report.paid_on_day_only),
        screenshot=turn.t("review.screenshot_received"),
    )


def review_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    """Submit, edit each field, cancel."""

    def edit(key: str, step: Step) -> Button:
        return turn.button(key, button_data(turn, ReportAction.EDIT, step.value))

    return (
        (turn.button("button.submit", button_data(turn, ReportAction.SUBMIT)),),
        (edit("button.edit_order", Step.ORDER), edit("button.edit_amount", Step.AMOUNT)),
        (edit("button.edit_paid_at", Step.PAID_AT), edit("button.edit_screenshot", Step.SCREENSHOT)),
        (turn.button("button.cancel", button_data(turn, ReportAction.CANCEL)),),
    )


def advance(turn: Turn, lead: str) -> None:
    """Move to the next step (or back to the review after an edit) and ask its question."""
    report = turn.conversation
    step = Step.REVIEW if report.back_to_review else NEXT_STEP[current_step(turn)]
    report.step = step.value
    report.back_to_review = step is not Step.REVIEW and report.back_to_review
    ask(turn, step, lead)


# --- what each input does at each step ----------------------------------------------------


async def take_order_number(turn: Turn, argument: str) -> None:
    """Record the order number, unless the payer already has an open ticket for it."""
    order_id = parse_order_number(turn.event.text)
    existing = await open_ticket_for_order(turn.session, user_id=turn.user.id, order_id=order_id)
    if existing:
        raise InputRejected(
            "order.already_open", reference=existing.reference, status=turn.t(f"status.{existing.status}")
        )
    turn.conversation.order_id, turn.conversation.order_skipped = order_id, False
    advance(turn, turn.t("ack.order", order=order_id))


async def skip_order_number(turn: Turn, argument: str) -> None:
    """Go on without an order number (a person will have to look the charge up)."""
    turn.conversation.order_id, turn.conversation.order_skipped = None, True
    advance(turn, turn.t("ack.no_order"))


async def take_amount(turn: Turn, argument: str) -> None:
    """Record the amount charged twice."""
    money = parse_amount(turn.event.text, default_currency=turn.rules.default_currency)
    turn.conversation.amount_minor, turn.conversation.currency = money.minor, money.currency
    amount = format_money(money.amount, money.currency, turn.locale)
    advance(turn, turn.t("ack.amount", amount=amount))


async def take_payment_time(turn: Turn, argument: str) -> None:
    """Record a typed payment time."""
    paid = parse_payment_time(
        turn.event.text, now=turn.now, zone=turn.rules.zone, window_days=turn.rules.refund_window_days
    )
    _record_payment_time(turn, paid.moment, paid.day_only)


async def take_payment_day(turn: Turn, argument: str) -> None:
    """Record "today" or "yesterday" from the buttons."""
    days_back = {"today": 0, "yesterday": 1}.get(argument)
    if days_back is None:
        raise InputRejected("wrong_input.paid_at")
    day = (turn.now.astimezone(turn.rules.zone) - timedelta(days=days_back)).date()
    paid = check_payment_time(
        day_start(day, turn.rules.zone),
        day_only=True,
        now=turn.now,
        zone=turn.rules.zone,
        window_days=turn.rules.refund_window_days,
    )
    _record_payment_time(turn, paid.moment, paid.day_only)


def _record_payment_time(turn: Turn, moment: datetime, day_only: bool) -> None:
    turn.conversation.paid_at, turn.conversation.paid_on_day_only = moment, day_only
    shown = format_moment(moment, turn.rules.zone, turn.locale, day_only=day_only)
    advance(turn, turn.t("ack.paid_at", paid_at=shown))


async def take_screenshot(turn: Turn, argument: str) -> None:
    """Keep the image downloaded and checked before the transaction as evidence, stored by hash."""
    event = turn.event
    assert event.attachment is not None  # the image input is a photo or a document
    check_declared_file(event.attachment, is_document=event.kind is EventKind.DOCUMENT)
    sha256 = await keep_evidence(turn, received_image(turn))
    turn.conversation.evidence_sha256 = sha256
    turn.conversation.evidence_media_group = event.media_group_id
    lead = turn.t("ack.screenshot")
    if event.media_group_id:
        lead = turn.t("ack.screenshot_album")
    advance(turn, lead)


async def take_bill(turn: Turn, argument: str) -> None:
    """Read the wallet bill fetched before the transaction: its duplicated pair fills the report, and the
    file is kept as evidence like a screenshot; a bill without one is refused with the reason."""
    event = turn.event
    assert event.attachment is not None  # the bill input is a document
    if not turn.rules.merchant_names:
        raise InputRejected("bill.cannot_match")
    check_declared_bill(event.attachment)
    checked = received_bill(turn)
    pair = choose_pair(turn, checked.bill)
    sha256 = await keep_evidence(turn, checked)  # may refuse (quota): before the report changes
    lead = fill_from_bill(turn, checked.bill, pair)
    turn.conversation.evidence_sha256, turn.conversation.evidence_media_group = sha256, None
    advance(turn, lead)


async def submit(turn: Turn, argument: str) -> None:
    """File the ticket, tell the payer what happens next, and close the report."""
    record = await filing_record_of(turn)
    if refusal := refusal_given(turn, record):
        raise InputRejected(refusal.key, **refusal.params)
    filing = await file_report(turn, record.open_order_keys)
    if turn.event.message_id:
        turn.outcome.outputs.append(ClearButtons(turn.event.message_id))
    turn.say(await _filing_message(turn, filing))
    if filing.result is FilingResult.FILED and turn.policy:
        assert filing.ticket is not None  # a filed report has its ticket
        await _decide(turn, turn.policy, filing.ticket)
    clear_report(turn.conversation, now=turn.now)


async def _decide(turn: Turn, policy: RefundPolicy, ticket: Ticket) -> None:
    """Auto-approve a small confirmed duplicate of the payer's own; everything else goes to a person."""
    call = await approve_if_allowed(turn.session, policy, ticket, now=turn.now, reason="filed")
    if call is not None:
        turn.refund_calls.append(call)


async def _filing_message(turn: Turn, filing: Filing) -> str:
    report = turn.conversation
    assert report.amount_minor is not None and report.currency is not None  # a complete report
    amount = format_money(
        Money.from_minor(report.amount_minor, report.currency).amount, report.currency, turn.locale
    )
    if filing.result is FilingResult.ALREADY_OPEN:
        assert filing.ticket is not None  # the open ticket
        return turn.t(
            "filed.already_open",
            reference=filing.ticket.reference,
            status=turn.t(f"status.{filing.ticket.status}"),
        )
    if filing.result is FilingResult.ALREADY_REFUNDED and filing.refunds:
        return await _refunded_here_message(turn, filing.refunds[0], amount)
    if filing.result is FilingResult.ALREADY_REFUNDED:
        assert filing.match is not None  # the match that found the refund
        refunded = [c for c, role in filing.match.charges if role is ChargeRole.REFUNDED]
        return turn.t(
            "filed.already_refunded",
            order=report.order_id,
            amount=amount,
            charged_at=_charge_times(turn, refunded),
        )
    assert filing.ticket is not None  # filed: the new ticket
    if filing.ticket.status == TicketStatus.VERIFIED:
        assert filing.match is not None  # and the match it was filed on
        charges = [c for c, _ in filing.match.charges]
        return turn.t(
            "filed.verified",
            reference=filing.ticket.reference,
            order=report.order_id,
            amount=amount,
            count=len(charges),
            times=_charge_times(turn, charges),
        )
    return turn.t("filed.needs_review", reference=filing.ticket.reference)


async def _refunded_here_message(turn: Turn, refund: Refund, amount: str) -> str:
    """The duplicate already has a refund through this bot: say when, and under which reference."""
    ticket = await ticket_by_id(turn.session, ticket_id=refund.ticket_id)
    if ticket is None or ticket.user_id != turn.user.id:
        # Someone else's refund: say only that it exists, nothing of when or under which reference.
        return turn.t("filed.refunded_elsewhere", order=turn.conversation.order_id, amount=amount)
    reference = ticket.reference
    landed = refund.status == RefundStatus.SUCCEEDED
    on = refund.landed_at if landed else refund.created_at
    assert on is not None  # a landed refund has its landing time
    return turn.t(
        "filed.refunded_here" if landed else "filed.refund_under_way",
        order=turn.conversation.order_id,
        amount=amount,
        on=format_moment(on, turn.rules.zone, turn.locale),
        reference=reference,
    )


def _charge_times(turn: Turn, charges: Iterable[Transaction]) -> str:
    return format_items(
        [format_moment(c.created_at, turn.rules.zone, turn.locale) for c in charges], turn.locale
    )


async def edit_field(turn: Turn, argument: str) -> None:
    """Go back to one step; after it the review comes again."""
    try:
        step = Step(argument)
    except ValueError as error:
        raise InputRejected("wrong_input.review") from error
    if step is Step.REVIEW:
        raise InputRejected("wrong_input.review")
    turn.conversation.step, turn.conversation.back_to_review = step.value, True
    if step is Step.SCREENSHOT:
        turn.conversation.evidence_media_group = None
    ask(turn, step)


async def cancel(turn: Turn, argument: str) -> None:
    """Abandon the report; nothing is filed."""
    if turn.event.message_id:
        turn.outcome.outputs.append(ClearButtons(turn.event.message_id))
    clear_report(turn.conversation, now=turn.now)
    turn.say(turn.t("report.cancelled"))


StepHandler = Callable[[Turn, str], Awaitable[None]]

TRANSITIONS: dict[Step, dict[Input, StepHandler]] = {
    Step.ORDER: {Input.TEXT: take_order_number, Input.NO_ORDER: skip_order_number},
    Step.AMOUNT: {Input.TEXT: take_amount},
    Step.PAID_AT: {Input.TEXT: take_payment_time, Input.DAY: take_payment_day},
    Step.SCREENSHOT: {Input.IMAGE: take_screenshot, Input.BILL: take_bill},
    Step.REVIEW: {Input.SUBMIT: submit, Input.EDIT: edit_field, Input.CANCEL: cancel},
}


# --- entry points -------------------------------------------------------------------------


def in_report(turn: Turn) -> bool:
    """Whether the payer is in the middle of a report."""
    return turn.conversation.step is not None


def current_step(turn: Turn) -> Step:
    """The step of the report in progress."""
    assert turn.conversation.step is not None, "no report in progress"
    return Step(turn.conversation.step)


async def start_report(turn: Turn) -> None:
    """Begin a new report, or pick up the one in progress."""
    if refusal := await report_refusal(turn):
        turn.say(turn.t(refusal.key, **refusal.params))
        repeat_question(turn)
        return
    report = turn.conversation
    if in_report(turn):
        ask(turn, current_step(turn), turn.t("report.continuing"))
        return
    clear_report(report, now=turn.now)
    report.step, report.report_key = Step.ORDER.value, secrets.token_hex(4)
    report.chat_id = turn.event.chat_id
    ask(turn, Step.ORDER, turn.t("report.started"))


def cancel_report(turn: Turn) -> None:
    """/cancel: abandon the report in progress, if any."""
    if not in_report(turn):
        turn.say(turn.t("report.nothing_to_cancel"))
        return
    clear_report(turn.conversation, now=turn.now)
    turn.say(turn.t("report.cancelled"))


def repeat_question(turn: Turn) -> None:
    """Ask the current step's question again (after a command answered in the middle)."""
    if in_report(turn):
        ask(turn, current_step(turn), turn.t("report.still_open"))


async def take_input(turn: Turn, action: Input, argument: str = "") -> None:
    """Run the transition for this input at the current step; otherwise say what is expected."""
    step = current_step(turn)
    handler = TRANSITIONS[step].get(action)
    if handler is None:
        ask(turn, step, "⚠️ " + turn.t(EXPECTED[step]))
        return
    try:
        await handler(turn, argument)
    except InputRejected as rejection:
        ask(turn, current_step(turn), "⚠️ " + turn.t(rejection.key, **rejection.params))
    turn.conversation.updated_at = turn.now


async def press_report_button(turn: Turn, button: ReportButton) -> None:
    """A report button: act only if it belongs to the report in progress."""
    if button.report_key != turn.conversation.report_key or not in_report(turn):
        await _stale_report_button(turn, button.report_key)
        return
    await take_input(turn, Input(button.action.value), button.argument)


async def _stale_report_button(turn: Turn, key: str) -> None:
    """Where the presser's own filed report went; anyone else's key is just a stale button."""
    filed = await ticket_by_report_key(turn.session, report_key=key) if key else None
    if filed and filed.user_id == turn.user.id:  # report keys are unique: this scopes it to the presser
        turn.say(
            turn.t("filed.already_filed", reference=filed.reference, status=turn.t(f"status.{filed.status}"))
        )
        return
    turn.outcome.outputs.append(Toast(turn.t("button.stale")))
