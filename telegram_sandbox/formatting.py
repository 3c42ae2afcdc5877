"""Turn a bot's text plus parse_mode/entities into what Telegram stores, and check its length."""

from __future__ import annotations

import re
from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.html_markup import parse_html
from telegram_sandbox.markdown_v2 import parse_markdown_v2
from telegram_sandbox.utf16 import units

MAX_TEXT = 4096
MAX_CAPTION = 1024
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


def format_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    """Apply parse_mode (or explicit entities) and trim surrounding whitespace like Telegram."""
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        text, parsed = parse_html(text)
    elif mode == "markdownv2":
        text, parsed = parse_markdown_v2(text)
    elif mode in ("", "markdown"):
        # Legacy Markdown is accepted unchecked and kept verbatim.
        parsed = _explicit_entities(entities)
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    return _strip(text, parsed)


def message_text(text: str | None, parse_mode: str | None, entities: Any) -> tuple[str, list]:
    """Return formatted message text, rejecting empty or over-long text."""
    if text is None:
        raise bad_request("message text is empty")
    text, parsed = format_text(text, parse_mode, entities)
    if not text:
        raise bad_request("message text is empty")
    if units(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return text, parsed


def caption_text(caption: str | None, parse_mode: str | None, entities: Any) -> tuple[str, list]:
    """Return a formatted caption ("" when absent), rejecting an over-long one."""
    if caption is None:
        return "", []
    caption, parsed = format_text(caption, parse_mode, entities)
    if units(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return caption, parsed


def command_entities(text: str) -> list[dict[str, Any]]:
    """Return bot_command entities for every /command in a user's text."""
    return [
        {"type": "bot_command", "offset": units(text[: match.start()]), "length": units(match[0])}
        for match in _COMMAND.finditer(text)
    ]


def _explicit_entities(entities: Any) -> list[dict[str, Any]]:
    if entities is None:
        return []
    valid = isinstance(entities, list) and all(
        isinstance(entity, dict)
        and isinstance(entity.get("type"), str)
        and isinstance(entity.get("offset"), int)
        and isinstance(entity.get("length"), int)
        for entity in entities
    )
    if not valid:
        raise bad_request("can't parse entities JSON array")
    return [dict(entity) for entity in entities]


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped_start = text.lstrip()
    cut = units(text) - units(stripped_start)
    stripped = stripped_start.rstrip()
    end = units(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - cut)
        stop = min(end, entity["offset"] + entity["length"] - cut)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept
