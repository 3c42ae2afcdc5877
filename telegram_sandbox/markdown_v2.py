"""parse_mode=MarkdownV2: Telegram's escaping rules, turned into plain text plus entities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram_sandbox.html_markup import parse_error
from telegram_sandbox.utf16 import byte_offset, units

RESERVED = set("_*[]()~`>#+-=|{}.!")
_TOGGLES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_ERROR_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_QUOTES = ("blockquote", "expandable_blockquote")


@dataclass
class _Open:
    kind: str
    start: int
    source_index: int


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.index = 0
        self.pieces: list[str] = []
        self.position = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.index < len(self.source):
            self._step()
        self._close_quote()
        if self.stack:
            opened = self.stack[-1]
            offset = byte_offset(self.source, opened.source_index)
            name = _ERROR_NAMES[opened.kind]
            raise parse_error(f"Can't find end of {name} entity at byte offset {offset}")
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.pieces), self.entities

    def _step(self) -> None:
        source, index = self.source, self.index
        char = source[index]
        at_line_start = index == 0 or source[index - 1] == "\n"
        if char == "\r":
            # Telegram drops \r; aiogram relies on it to separate "_" from "__".
            self.index += 1
        elif char == "\\":
            self._append(source[index + 1] if index + 1 < len(source) else "\\")
            self.index += 2
        elif char == "`":
            self._code()
        elif at_line_start and source.startswith("**>", index):
            self._open_quote("expandable_blockquote")
            self.index += 3
        elif at_line_start and char == ">":
            self._open_quote("blockquote")
            self.index += 1
        elif source.startswith("||", index) and self._ends_expandable_quote(index):
            self._close_quote()
            self.index += 2
        elif source.startswith("__", index) or source.startswith("||", index):
            self._toggle(_TOGGLES[source[index : index + 2]])
            self.index += 2
        elif char in "*_~":
            self._toggle(_TOGGLES[char])
            self.index += 1
        elif char == "[" or source.startswith("![", index):
            kind = "text_link" if char == "[" else "custom_emoji"
            self.stack.append(_Open(kind, self.position, index))
            self.index += 1 if char == "[" else 2
        elif char == "]" and self.stack and self.stack[-1].kind in ("text_link", "custom_emoji"):
            self._link_end()
        elif char in RESERVED:
            raise parse_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        else:
            if char == "\n" and not source.startswith(">", index + 1):
                self._close_quote()
            self._append(char)
            self.index += 1

    def _append(self, text: str) -> None:
        self.pieces.append(text)
        self.position += units(text)

    def _emit(self, kind: str, start: int, **extra: Any) -> None:
        if self.position > start:
            self.entities.append({"type": kind, "offset": start, "length": self.position - start, **extra})

    def _toggle(self, kind: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth].kind == kind:
                self._emit(kind, self.stack.pop(depth).start)
                return
        self.stack.append(_Open(kind, self.position, self.index))

    def _open_quote(self, kind: str) -> None:
        if not any(entity["type"] in _QUOTES and "open" in entity for entity in self.entities):
            self.entities.append({"type": kind, "offset": self.position, "open": True})

    def _close_quote(self) -> None:
        for entity in self.entities:
            if entity.pop("open", None):
                entity["length"] = self.position - entity["offset"]
        self.entities = [entity for entity in self.entities if entity.get("length", 0) > 0]

    def _ends_expandable_quote(self, index: int) -> bool:
        after = self.source[index + 2 : index + 3]
        return after in ("", "\n") and any(
            entity["type"] == "expandable_blockquote" and "open" in entity for entity in self.entities
        )

    def _code(self) -> None:
        source, start = self.source, self.index
        fence = "```" if source.startswith("```", start) else "`"
        index = start + len(fence)
        language = ""
        if fence == "```":
            newline = source.find("\n", index)
            first_line = source[index:newline] if newline >= 0 else ""
            if first_line and not any(char.isspace() for char in first_line):
                language, index = first_line, newline + 1
        begin = self.position
        while not source.startswith(fence, index):
            if index >= len(source):
                name = "Pre" if fence == "```" else "Code"
                offset = byte_offset(source, start)
                raise parse_error(f"Can't find end of {name} entity at byte offset {offset}")
            if source[index] == "\\" and index + 1 < len(source):
                index += 1
            self._append(source[index])
            index += 1
        self.index = index + len(fence)
        if fence == "`":
            self._emit("code", begin)
        elif language:
            self._emit("pre", begin, language=language)
        else:
            self._emit("pre", begin)

    def _link_end(self) -> None:
        source, index = self.source, self.index
        opened = self.stack.pop()
        if not source.startswith("(", index + 1):
            raise parse_error("Character ']' is reserved and must be escaped with the preceding '\\'")
        url: list[str] = []
        index += 2
        while index < len(source) and source[index] != ")":
            if source[index] == "\\" and index + 1 < len(source):
                index += 1
            url.append(source[index])
            index += 1
        if index >= len(source):
            offset = byte_offset(source, self.index)
            raise parse_error(f"Can't find end of a URL at byte offset {offset}")
        self.index = index + 1
        target = "".join(url)
        if opened.kind == "custom_emoji":
            emoji_id = target.removeprefix("tg://emoji?id=")
            if not emoji_id.isdigit():
                raise parse_error("Custom emoji entity must contain a valid custom emoji identifier")
            self._emit("custom_emoji", opened.start, custom_emoji_id=emoji_id)
        else:
            self._emit("text_link", opened.start, url=target)


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return (text, entities) for a MarkdownV2 message, or raise can't parse entities."""
    return _Parser(source).parse()
