"""Composing a broadcast in a merchant's private chat: pick or write, preview, audience, time, confirm.

The draft lives in the database (storage/broadcast_drafts.py); nothing is sent before Confirm, which
records a scheduled Broadcast for the delivery job and deletes the draft.
"""

import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from handlers.buttons import BroadcastAction, BroadcastButton
from handlers.events import Button, ClearButtons, EventKind, Toast
from handlers.merchant.tips import TELEGRAM_TEXT_LIMIT, TIP_COUNT, broadcast_text, recipient_buttons
from handlers.parsing import InputRejected
from handlers.payer.turn import Turn
from handlers.texts import Texts, format_moment
from locales import LANGUAGES
from storage.broadcast_drafts import draft_of, drop_draft, start_draft
from storage.broadcasts import add_broadcast
from storage.models import Broadcast, BroadcastDraft, BroadcastStatus, id_of
from storage.users import tip_subscriber_counts

DRAFT_LIFETIME = timedelta(days=1)  # a draft untouched this long is forgotten: typing goes elsewhere again
FARTHEST_AHEAD = timedelta(days=366)
ALL = "all"
SOURCE = "chat"
CONTROL_ALLOWED = frozenset("\n\t")
TYPED_TIME = re.compile(r"(?:(?P<y>\d{4})\s*[-/]\s*)?(?P<m>\d{1,2})\s*[-/]\s*(?P<d>\d{1,2})\s+"
                        r"(?P<h>\d{1,2})\s*[:：]\s*(?P<mi>\d{2})")


class Step(StrEnum):
    """Where a draft stands."""

    PICK = "pick"  # a library tip, or write my own
    TEXT_EN = "text_en"
    TEXT_ZH = "text_zh"
    AUDIENCE = "audience"  # after the preview
    TIME = "time"
    CONFIRM = "confirm"


TEXT_STEPS = {Step.TEXT_EN: "en", Step.TEXT_ZH: "zh"}


# --- checking what the merchant types ------------------------------------------------------------


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji is often two)."""
    return len(text.encode("utf-16-le")) // 2


def check_broadcast_text(text: str) -> str:
    """The text as it will be sent (line ends normalised, trimmed like Telegram), or InputRejected."""
    if len(text) > 2 * TELEGRAM_TEXT_LIMIT:  # bounded before anything else looks at it
        raise InputRejected("merchant.broadcast.too_long", length=len(text), limit=TELEGRAM_TEXT_LIMIT)
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InputRejected("merchant.broadcast.empty")
    if (length := utf16_length(text)) > TELEGRAM_TEXT_LIMIT:
        raise InputRejected("merchant.broadcast.too_long", length=length, limit=TELEGRAM_TEXT_LIMIT)
    if any(unicodedata.category(c) == "Cc" and c not in CONTROL_ALLOWED for c in text):
        raise InputRejected("merchant.broadcast.control")
    return text


def read_send_time(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A typed "2026-12-01 09:30" or "12-01 09:30" in `zone`, in UTC; InputRejected if unusable or past."""
    found = TYPED_TIME.fullmatch(text.strip()) if len(text) <= 40 else None
    if found is None:
        raise InputRejected("merchant.broadcast.time_format", zone=zone.key)
    local_now = now.astimezone(zone)
    try:
        moment = datetime(int(found["y"] or local_now.year), int(found["m"]), int(found["d"]),
                          int(found["h"]), int(found["mi"]), tzinfo=zone)
    except ValueError:
        raise InputRejected("merchant.broadcast.time_format", zone=zone.key) from None
    if moment <= now:
        raise InputRejected("merchant.broadcast.time_past", zone=zone.key)
    if moment - now > FARTHEST_AHEAD:
        raise InputRejected("merchant.broadcast.time_far")
    return moment.astimezone(UTC)


# --- what subscribers will read -----------------------------------------------------------------


def as_broadcast(draft: BroadcastDraft) -> Broadcast:
    """The draft's content as a broadcast (not stored): what recipients would be sent."""
    return Broadcast(status=BroadcastStatus.SCHEDULED, source=SOURCE, tip_number=draft.tip_number,
                     text_en=draft.text_en, text_zh=draft.text_zh, audience=draft.audience or ALL)


def recipient_text(texts: Texts, draft: BroadcastDraft, locale: str) -> str:
    """Exactly what a subscriber speaking `locale` would be sent."""
    # With two languages the default never decides: a missing language always falls back to the other one.
    return broadcast_text(texts, as_broadcast(draft), locale, locale)


# --- the questions --------------------------------------------------------------------------


def _data(draft: BroadcastDraft, action: BroadcastAction, argument: str = "") -> str:
    return BroadcastButton(draft.key, action, argument).pack()


def _cancel_row(turn: Turn, draft: BroadcastDraft) -> tuple[Button, ...]:
    return (turn.button("merchant.broadcast.cancel_button", _data(draft, BroadcastAction.CANCEL)),)


def ask_pick(turn: Turn, draft: BroadcastDraft) -> None:
    """The library with a short title per tip, or write my own."""
    tips = [
        Button(f"{n} · {turn.t(f'merchant.broadcast.title_{n}')}", _data(draft, BroadcastAction.TIP, str(n)))
        for n in range(1, TIP_COUNT + 1)
    ]
    rows = [tuple(tips[i:i + 2]) for i in range(0, len(tips), 2)]
    rows.append((turn.button("merchant.broadcast.own_button", _data(draft, BroadcastAction.OWN)),))
    rows.append(_cancel_row(turn, draft))
    turn.say(turn.t("merchant.broadcast.ask_pick"), tuple(rows))


def ask_text(turn: Turn, draft: BroadcastDraft) -> None:
    """The English text, then the Chinese; either may be skipped, but not both."""
    rows = [_cancel_row(turn, draft)]
    if draft.step == Step.TEXT_EN or draft.text_en:
        rows.insert(0, (turn.button("merchant.broadcast.skip_button", _data(draft, BroadcastAction.SKIP)),))
    key = "merchant.broadcast.ask_text_en" if draft.step == Step.TEXT_EN else "merchant.broadcast.ask_text_zh"
    turn.say(turn.t(key, limit=TELEGRAM_TEXT_LIMIT), tuple(rows))


def show_preview(turn: Turn, draft: BroadcastDraft) -> None:
    """Each language version, plain text with the recipients' button row, exactly as it will be sent."""
    for locale in LANGUAGES:
        turn.say(turn.t(f"merchant.broadcast.preview_{locale}"))
        turn.say(recipient_text(turn.texts, draft, locale), recipient_buttons(turn.texts, locale))


def _audience_label(turn: Turn, audience: str, counts: dict[str, int]) -> str:
    count = sum(counts.values()) if audience == ALL else counts.get(audience, 0)
    return turn.t(f"merchant.broadcast.audience_{audience}", count=count)


async def ask_audience(turn: Turn, draft: BroadcastDraft) -> None:
    """Everyone subscribed, or one language's subscribers, each with how many they are now."""
    counts = await tip_subscriber_counts(turn.session)
    choices = (ALL, *LANGUAGES)
    row = tuple(
        Button(_audience_label(turn, a, counts), _data(draft, BroadcastAction.AUDIENCE, a)) for a in choices
    )
    turn.say(turn.t("merchant.broadcast.ask_audience"), (row, _cancel_row(turn, draft)))


def ask_time(turn: Turn, draft: BroadcastDraft) -> None:
    """Now, or a date and time typed in the bot's zone."""
    now_row = (turn.button("merchant.broadcast.now_button", _data(draft, BroadcastAction.NOW)),)
    question = turn.t("merchant.broadcast.ask_time", zone=turn.rules.zone.key)
    turn.say(question, (now_row, _cancel_row(turn, draft)))


def _content(turn: Turn, draft: BroadcastDraft) -> str:
    if draft.tip_number is not None:
        title = turn.t(f"merchant.broadcast.title_{draft.tip_number}")
        return turn.t("merchant.broadcast.content_tip", number=draft.tip_number, title=title)
    if draft.text_en and draft.text_zh:
        return turn.t("merchant.broadcast.content_both")
    return turn.t("merchant.broadcast.content_en" if draft.text_en else "merchant.broadcast.content_zh")


def _when(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return turn.t("merchant.broadcast.when_now")
    return f"{format_moment(moment, turn.rules.zone, turn.locale)} ({turn.rules.zone.key})"


async def ask_confirm(turn: Turn, draft: BroadcastDraft) -> None:
    """The summary (content, audience with its count, time) with Confirm and Cancel."""
    counts = await tip_subscriber_counts(turn.session)
    summary = turn.t(
        "merchant.broadcast.summary",
        content=_content(turn, draft),
        audience=_audience_label(turn, draft.audience or ALL, counts),
        when=_when(turn, draft.scheduled_at),
    )
    confirm = turn.button("merchant.broadcast.confirm_button", _data(draft, BroadcastAction.CONFIRM))
    turn.say(summary, ((confirm,), _cancel_row(turn, draft)))


async def ask_step(turn: Turn, draft: BroadcastDraft) -> None:
    """Ask the question of the draft's step (again)."""
    step = Step(draft.step)
    if step is Step.PICK:
        ask_pick(turn, draft)
    elif step in TEXT_STEPS:
        ask_text(turn, draft)
    elif step is Step.AUDIENCE:
        await ask_audience(turn, draft)
    elif step is Step.TIME:
        ask_time(turn, draft)
    else:
        await ask_confirm(turn, draft)


async def _move(turn: Turn, draft: BroadcastDraft, step: Step) -> None:
    """Go to `step` and ask its question; the preview comes before the audience."""
    draft.step, draft.updated_at = step, turn.now
    turn.session.add(draft)
    if step is Step.AUDIENCE:
        show_preview(turn, draft)
    await ask_step(turn, draft)


# --- the merchant's actions ---------------------------------------------------------------------


async def start_broadcast(turn: Turn) -> None:
    """`/broadcast`: a fresh draft (any earlier one is dropped), starting with the choice of tip."""
    key = secrets.token_hex(4)
    draft = await start_draft(turn.session, merchant_id=turn.user.id, step=Step.PICK, key=key, now=turn.now)
    ask_pick(turn, draft)


async def current_draft(turn: Turn, *, lock: bool = False) -> BroadcastDraft | None:
    """The merchant's draft, unless it was left untouched too long (then it is dropped)."""
    draft = await draft_of(turn.session, merchant_id=turn.user.id, lock=lock)
    if draft is not None and draft.updated_at < turn.now - DRAFT_LIFETIME:
        await drop_draft(turn.session, merchant_id=turn.user.id)
        return None
    return draft


async def continue_draft(turn: Turn) -> bool:
    """/cancel or typed text while a draft exists, or a broadcast button; False: not the draft's business."""
    event = turn.event
    if event.kind is EventKind.BUTTON:
        button = BroadcastButton.parse(event.button_data)
        if button is None:
            return False
        await press_broadcast_button(turn, button)
        return True
    if (event.kind is EventKind.COMMAND and event.command == "cancel") or event.kind is EventKind.TEXT:
        draft = await current_draft(turn, lock=True)
        if draft is None:
            return False
        if event.kind is EventKind.COMMAND:
            await _discard(turn, draft)
        else:
            await take_text(turn, draft)
        return True
    return False


async def take_text(turn: Turn, draft: BroadcastDraft) -> None:
    """The typed text of the step: a language's text, or the time; anything else is asked again."""
    step = Step(draft.step)
    try:
        if step in TEXT_STEPS:
            text = check_broadcast_text(turn.event.text)
            if step is Step.TEXT_EN:
                draft.text_en = text
                await _move(turn, draft, Step.TEXT_ZH)
            else:
                draft.text_zh = text
                await _move(turn, draft, Step.AUDIENCE)
            return
        if step is Step.TIME:
            draft.scheduled_at = read_send_time(turn.event.text, now=turn.now, zone=turn.rules.zone)
            await _move(turn, draft, Step.CONFIRM)
            return
    except InputRejected as rejection:
        turn.say("⚠️ " + turn.t(rejection.key, **rejection.params))
        await ask_step(turn, draft)
        return
    turn.say(turn.t("merchant.broadcast.use_buttons"))
    await ask_step(turn, draft)


Press = Callable[[Turn, BroadcastDraft, BroadcastButton], Awaitable[None]]


async def _pick_tip(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    draft.tip_number = int(button.argument)
    await _move(turn, draft, Step.AUDIENCE)


async def _write_own(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    await _move(turn, draft, Step.TEXT_EN)


async def _skip_language(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    if draft.step == Step.TEXT_EN:
        draft.text_en = None
        await _move(turn, draft, Step.TEXT_ZH)
    elif draft.text_en:
        draft.text_zh = None
        await _move(turn, draft, Step.AUDIENCE)
    else:
        turn.say("⚠️ " + turn.t("merchant.broadcast.one_language"))
        ask_text(turn, draft)


async def _choose_audience(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    draft.audience = button.argument
    await _move(turn, draft, Step.TIME)


async def _send_now(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    draft.scheduled_at = None
    await _move(turn, draft, Step.CONFIRM)


async def _confirm(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    """Record the broadcast (scheduled) and delete the draft; the delivery job takes it from here."""
    if draft.scheduled_at is not None and draft.scheduled_at <= turn.now:
        turn.say("⚠️ " + turn.t("merchant.broadcast.time_passed"))
        await _move(turn, draft, Step.TIME)
        return
    broadcast = await add_broadcast(turn.session, Broadcast(
        status=BroadcastStatus.SCHEDULED, source=SOURCE, tip_number=draft.tip_number, text_en=draft.text_en,
        text_zh=draft.text_zh, audience=draft.audience or ALL, created_by=turn.user.id,
        scheduled_at=draft.scheduled_at or turn.now, progress_chat_id=turn.event.chat_id, created_at=turn.now,
    ))
    await drop_draft(turn.session, merchant_id=turn.user.id)
    key = "merchant.broadcast.queued_now" if draft.scheduled_at is None else "merchant.broadcast.queued_later"
    turn.say(turn.t(key, id=id_of(broadcast), when=_when(turn, draft.scheduled_at)))


async def _cancel(turn: Turn, draft: BroadcastDraft, button: BroadcastButton) -> None:
    await _discard(turn, draft)


async def _discard(turn: Turn, draft: BroadcastDraft) -> None:
    await drop_draft(turn.session, merchant_id=draft.merchant_id)
    turn.say(turn.t("merchant.broadcast.discarded"))


# Which button acts at which step; any other pair is an old message's button.
TRANSITIONS: dict[tuple[Step, BroadcastAction], Press] = {
    (Step.PICK, BroadcastAction.TIP): _pick_tip,
    (Step.PICK, BroadcastAction.OWN): _write_own,
    (Step.TEXT_EN, BroadcastAction.SKIP): _skip_language,
    (Step.TEXT_ZH, BroadcastAction.SKIP): _skip_language,
    (Step.AUDIENCE, BroadcastAction.AUDIENCE): _choose_audience,
    (Step.TIME, BroadcastAction.NOW): _send_now,
    (Step.CONFIRM, BroadcastAction.CONFIRM): _confirm,
    **{(step, BroadcastAction.CANCEL): _cancel for step in Step},
}


def _in_library(button: BroadcastButton) -> bool:
    """A tip button names a tip of the library; other buttons carry no number."""
    return button.action is not BroadcastAction.TIP or 1 <= int(button.argument) <= TIP_COUNT


async def press_broadcast_button(turn: Turn, button: BroadcastButton) -> None:
    """A draft's button: acts only on the presser's own current draft, at the step it was made for."""
    draft = await current_draft(turn, lock=True)  # locked: a double tap on Confirm confirms once
    mine = draft is not None and draft.key == button.draft_key and _in_library(button)
    action = TRANSITIONS.get((Step(draft.step), button.action)) if draft is not None and mine else None
    if draft is None or action is None:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return
    if turn.event.message_id is not None:
        turn.outcome.outputs.append(ClearButtons(turn.event.message_id))
    await action(turn, draft, button)
