"""Telegram measures text and entity offsets in UTF-16 code units."""

from __future__ import annotations


def units(text: str) -> int:
    """Return the UTF-16 length of text."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def byte_offset(text: str, index: int) -> int:
    """Return the UTF-8 byte offset of text[index], as Telegram's parse errors report it."""
    return len(text[:index].encode("utf-8", errors="surrogatepass"))
