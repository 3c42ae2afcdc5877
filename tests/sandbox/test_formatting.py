"""HTML and MarkdownV2 parsing into Telegram's plain text plus UTF-16 entities."""

from __future__ import annotations

import pytest

from telegram_sandbox.errors import ApiError
from telegram_sandbox.formatting import command_entities, format_text
from telegram_sandbox.html_markup import parse_html
from telegram_sandbox.markdown_v2 import parse_markdown_v2


def test_html_entities_and_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> &lt;3 <a href="https://x.example/?a=1&amp;b=2">link</a>'
    )
    assert text == "😀 bold both <3 link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 16, "length": 4, "url": "https://x.example/?a=1&b=2"},
    ]


def test_html_pre_with_language_and_spoilers() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">print(1)</code></pre>'
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>'
        '<blockquote expandable>q</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "print(1)stq👍"
    assert [entity["type"] for entity in entities] == [
        "pre",
        "spoiler",
        "spoiler",
        "expandable_blockquote",
        "custom_emoji",
    ]
    assert entities[0]["language"] == "python"
    assert entities[-1]["custom_emoji_id"] == "5368324170671202286"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("a & b", "at byte offset 2"),
        ("a &nbsp; b", "at byte offset 2"),
        ("é <x", "Unclosed start tag at byte offset 3"),
    ],
)
def test_html_errors(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_html(source)
    assert raised.value.error_code == 400
    assert raised.value.description.startswith("Bad Request: can't parse entities: ")
    assert reason in raised.value.description


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2(
        r"*bold _both_* __u__ ~s~ ||sp|| `co\`de` [link](https://x.example/\)) 1\.5"
    )
    assert text == "bold both u s sp co`de link 1.5"
    assert [(entity["type"], entity["offset"], entity["length"]) for entity in entities] == [
        ("bold", 0, 9),
        ("italic", 5, 4),
        ("underline", 10, 1),
        ("strikethrough", 12, 1),
        ("spoiler", 14, 2),
        ("code", 17, 5),
        ("text_link", 23, 4),
    ]
    assert entities[-1]["url"] == "https://x.example/)"


def test_markdown_v2_pre_and_quotes() -> None:
    text, entities = parse_markdown_v2("```python\nx = 1\n```\n>quoted\n>more\nafter")
    assert text == "x = 1\n\nquoted\nmore\nafter"
    assert entities[0] == {"type": "pre", "offset": 0, "length": 6, "language": "python"}
    assert entities[1] == {"type": "blockquote", "offset": 7, "length": 11}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("Total: 5.00", "Character '.' is reserved"),
        ("(note)", "Character '(' is reserved"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("`open", "Can't find end of Code entity"),
        ("[x](https://a", "Can't find end of a URL"),
    ],
)
def test_markdown_v2_errors(source: str, reason: str) -> None:
    with pytest.raises(ApiError, match="can't parse entities") as raised:
        parse_markdown_v2(source)
    assert reason in raised.value.description


def test_format_text_trims_and_keeps_legacy_markdown_verbatim() -> None:
    assert format_text("  *a*  ", "Markdown", None) == ("*a*", [])
    text, entities = format_text("\n <u>u</u> x ", "html", None)
    assert (text, entities) == ("u x", [{"type": "underline", "offset": 0, "length": 1}])
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        format_text("x", "BBCode", None)


def test_command_entities() -> None:
    assert command_entities("/start@refund_assistant_bot go /help") == [
        {"type": "bot_command", "offset": 0, "length": 27},
        {"type": "bot_command", "offset": 31, "length": 5},
    ]
    assert command_entities("no/command here") == []


TRICKY_TEXTS = [
    "Total: 5.00 EUR (incl. VAT) - refund #42 + fee = 0! {ok} [x] ~ > | `q` _u_ *b* \\ & <tag>",
    "Emoji 😀 and accents: café, naïve; a\\b",
    "line one\n> not a quote\n**>neither",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_framework_escaping_round_trips(text: str) -> None:
    from aiogram.utils.text_decorations import html_decoration, markdown_decoration
    from telegram.helpers import escape_markdown

    assert parse_markdown_v2(escape_markdown(text, version=2))[0] == text
    assert parse_markdown_v2(markdown_decoration.quote(text))[0] == text
    assert parse_html(html_decoration.quote(text))[0] == text


def test_aiogram_formatting_round_trips_entities() -> None:
    from aiogram.utils.formatting import Bold, Code, Italic, Text, TextLink

    content = Text(
        "Refund ",
        Bold("sent ", Italic("today")),
        " via ",
        TextLink("link", url="https://x.example"),
        " ",
        Code("a<b"),
    )
    expected_text, expected_entities = content.render()
    for source, parser in ((content.as_html(), parse_html), (content.as_markdown(), parse_markdown_v2)):
        text, entities = parser(source)
        assert text == expected_text
        assert sorted((e["type"], e["offset"], e["length"]) for e in entities) == sorted(
            (e.type, e.offset, e.length) for e in expected_entities
        )
