"""parse_mode=HTML: Telegram's tag subset, turned into plain text plus entities."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from telegram_sandbox.errors import ApiError, bad_request
from telegram_sandbox.utf16 import byte_offset, units

ENTITY_BY_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_CHARACTER_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]
    language: str | None = None
    children_languages: list[str] = field(default_factory=list)


def parse_error(reason: str) -> ApiError:
    """Return the 400 Telegram gives for malformed markup."""
    return bad_request(f"can't parse entities: {reason}")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (text, entities) for an HTML-formatted message, or raise can't parse entities."""
    pieces: list[str] = []
    position = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "<":
            end = source.find(">", index)
            if end < 0:
                raise parse_error(f"Unclosed start tag at byte offset {byte_offset(source, index)}")
            body = source[index + 1 : end]
            if body.startswith("/"):
                _close_tag(source, index, body[1:].strip().lower(), stack, position, entities)
            else:
                stack.append(_open_tag(source, index, body, stack, position))
            index = end + 1
            continue
        if char == "&":
            match = _CHARACTER_REFERENCE.match(source, index)
            if match is None:
                offset = byte_offset(source, index)
                raise parse_error(f'Character "&" must be escaped as "&amp;" at byte offset {offset}')
            char = html.unescape(match.group(0))
            index = match.end()
        else:
            index += 1
        pieces.append(char)
        position += units(char)
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(pieces), entities


def _open_tag(source: str, index: int, body: str, stack: list[_OpenTag], position: int) -> _OpenTag:
    name_match = _TAG_NAME.match(body)
    name = name_match.group(0).lower() if name_match else body
    if name_match is None or name not in ENTITY_BY_TAG:
        offset = byte_offset(source, index)
        raise parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
    attributes = _parse_attributes(body[name_match.end() :])
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise parse_error('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
        raise parse_error("Custom emoji entity must contain a valid custom emoji identifier")
    tag = _OpenTag(name, position, attributes)
    if name == "code" and stack and stack[-1].name == "pre":
        # Code directly inside pre only names the pre block's language.
        language = attributes.get("class", "")
        tag.language = language.removeprefix("language-") if language.startswith("language-") else ""
    return tag


def _parse_attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(text.rstrip("/")):
        value = next((group for group in match.groups()[1:] if group is not None), "")
        attributes[match.group(1).lower()] = html.unescape(value)
    return attributes


def _close_tag(
    source: str,
    index: int,
    name: str,
    stack: list[_OpenTag],
    position: int,
    entities: list[dict[str, Any]],
) -> None:
    offset = byte_offset(source, index)
    if not stack:
        raise parse_error(f"Unexpected end tag at byte offset {offset}")
    tag = stack.pop()
    if name != tag.name:
        raise parse_error(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", found "</{name}>"'
        )
    length = position - tag.start
    if tag.language is not None:
        if tag.language:
            stack[-1].children_languages.append(tag.language)
        return
    if length <= 0:
        return
    entity: dict[str, Any] = {"type": ENTITY_BY_TAG[name], "offset": tag.start, "length": length}
    if name == "a":
        href = tag.attributes.get("href")
        if not href:
            return
        entity["url"] = href
    elif name == "pre" and tag.children_languages:
        entity["language"] = tag.children_languages[0]
    elif name == "blockquote" and "expandable" in tag.attributes:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attributes["emoji-id"]
    entities.append(entity)
