"""reply_markup checks: inline keyboards strictly, other keyboards by shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram_sandbox.errors import bad_request

ACTION_FIELDS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_BUTTONS = 100
MAX_CALLBACK_DATA_BYTES = 64
_URL_SCHEMES = ("http", "https", "tg", "ton")


@dataclass(frozen=True)
class Markup:
    """A checked reply_markup: an inline keyboard (kept on the message) or another keyboard."""

    inline: dict[str, Any] | None = None
    keyboard: dict[str, Any] | None = None


def parse_markup(raw: Any) -> Markup:
    """Check any reply_markup a send method accepts."""
    if raw is None:
        return Markup()
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return Markup(inline=inline_keyboard(raw))
    if isinstance(raw.get("keyboard"), list):
        _check_reply_keyboard(raw["keyboard"])
        return Markup(keyboard=_without_nulls(raw))
    if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
        return Markup(keyboard=_without_nulls(raw))
    raise bad_request("can't parse reply keyboard markup JSON object")


def parse_inline_markup(raw: Any) -> dict[str, Any] | None:
    """Check a reply_markup that must be an inline keyboard (edits)."""
    markup = parse_markup(raw)
    if markup.keyboard is not None:
        raise bad_request("inline keyboard expected")
    return markup.inline


def inline_keyboard(raw: dict[str, Any]) -> dict[str, Any]:
    """Return a canonical InlineKeyboardMarkup, or raise the error Telegram gives."""
    rows = raw.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
            "InlineKeyboardMarkup must be an Array of Arrays"
        )
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return {"inline_keyboard": [[_inline_button(button) for button in row] for row in rows]}


def callback_data_in(markup: dict[str, Any] | None, data: str) -> bool:
    """Return whether an inline keyboard has a button with exactly this callback_data."""
    if not markup:
        return False
    return any(button.get("callback_data") == data for row in markup["inline_keyboard"] for button in row)


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [name for name in ACTION_FIELDS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: a button must have exactly one action, "
            f"got {', '.join(actions)}"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions and not _is_button_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")
    return _without_nulls(button)


def _is_button_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc or parts.path)


def _check_reply_keyboard(rows: list[Any]) -> None:
    for row in rows:
        if not isinstance(row, list):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request("can't parse reply keyboard markup JSON object")


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if item is not None}
