"""What the bot sent during an end-to-end test, chat by chat, so the two runtimes' runs can be compared."""

import itertools
import re
from collections import Counter
from typing import Any

from telegram_sandbox.client import SandboxClient

REFERENCE = re.compile(r"RF-[A-Z0-9]{8}")  # ticket references are random (handlers/payer/filing.py)
# What a real clock makes vary from run to run: durations, times of day, how often a card was edited.
CLOCK_READINGS = (
    (re.compile(r"\d+(?:[.,]\d+)?\s?(?:seconds?|sec|minutes?|min|hours?|hr|days?|秒钟?|分钟|小时|天)"),
     "<duration>"),
    (re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\u202f?[AP]M)?"), "<time>"),
    (re.compile(r"\(edited \d+x\)"), "(edited)"),
)
TOASTS = "callback answers (in any order)"
MEDIA = ("photo", "document", "sticker", "video", "animation", "audio", "voice")

Transcript = dict[str, list[str]]


class TranscriptMismatch(AssertionError):
    """Two runtimes sent different messages for the same scenario."""


def describe(message: dict[str, Any]) -> str:
    """One bot message as a line: its kind, text or caption, buttons, and whether it was edited or deleted."""
    if "forum_topic_created" in message:
        return f"topic created: {message['forum_topic_created'].get('name')}"
    kind = next((media for media in MEDIA if media in message), "text")
    words = message.get("text") if kind == "text" else message.get("caption")
    line = f"{kind}: {words!r}" if words is not None else kind
    if kind == "document":
        line += f" (file {message['document'].get('file_name')!r})"
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    if rows:  # " | " between the buttons of a row, " / " between rows
        line += f" [buttons: {' / '.join(' | '.join(button['text'] for button in row) for row in rows)}]"
    facts = message.get("sandbox", {})
    if facts.get("edit_count"):
        line += f" (edited {facts['edit_count']}x)"
    if facts.get("deleted"):
        line += " (deleted)"
    return line


async def read_transcript(client: SandboxClient) -> Transcript:
    """Every chat's bot messages in order (ticket references numbered by first appearance), and the toasts."""
    transcript: Transcript = {}
    listed = sorted(entry["chat"]["id"] for entry in await client.chats())
    for chat_id in listed:
        messages = await client.messages(chat_id)
        transcript[f"chat {chat_id}"] = [describe(m) for m in messages if m["sandbox"]["from_bot"]]
    answers = await client.callback_answers()
    transcript[TOASTS] = sorted(repr(answer.get("text")) for answer in answers)
    return normalized(transcript)


def normalized(transcript: Transcript) -> Transcript:
    """Random ticket references replaced by RF-#1, RF-#2 … in order of first appearance."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match[0], f"RF-#{len(numbers) + 1}")

    return {chat: [REFERENCE.sub(number, line) for line in lines] for chat, lines in transcript.items()}


def without_chats(transcript: Transcript, chat_ids: tuple[int, ...]) -> Transcript:
    """The transcript but these chats, for a scenario whose own race decides what they get."""
    left_out = {f"chat {chat_id}" for chat_id in chat_ids}
    return {chat: lines for chat, lines in transcript.items() if chat not in left_out}


def without_clock_readings(transcript: Transcript) -> Transcript:
    """Durations, times of day and edit counts blanked, for a bot on the real clock."""

    def blanked(line: str) -> str:
        for pattern, blank in CLOCK_READINGS:
            line = pattern.sub(blank, line)
        return line

    return {chat: [blanked(line) for line in lines] for chat, lines in transcript.items()}


def without_repeats(transcript: Transcript) -> Transcript:
    """Each run of the same message in a chat counted once: delivery is at least once across a crash."""
    return {chat: [line for line, _ in itertools.groupby(lines)] for chat, lines in transcript.items()}


def first_difference(runs: dict[str, Transcript], *, any_order: bool = False) -> str | None:
    """The first place two runs differ, in words (None: they agree); `any_order` compares each chat as a
    multiset."""
    (first, one), (second, other) = runs.items()
    for chat in sorted(set(one) | set(other)):
        if chat not in one or chat not in other:
            missing = first if chat not in one else second
            return f"{chat} is missing from the {missing} run"
        mine, theirs = one[chat], other[chat]
        if any_order or chat == TOASTS:
            only_mine, only_theirs = Counter(mine) - Counter(theirs), Counter(theirs) - Counter(mine)
            if only_mine or only_theirs:
                return (f"{chat} (compared in any order):\n  only {first}: {sorted(only_mine.elements())}\n"
                        f"  only {second}: {sorted(only_theirs.elements())}")
            continue
        difference = _first_in_order(chat, first, mine, second, theirs)
        if difference:
            return difference
    return None


def _first_in_order(chat: str, first: str, mine: list[str], second: str, theirs: list[str]) -> str | None:
    for index in range(max(len(mine), len(theirs))):
        left = mine[index] if index < len(mine) else "(nothing)"
        right = theirs[index] if index < len(theirs) else "(nothing)"
        if left != right:
            before = f"  after: {mine[index - 1]}\n" if index else ""
            return (f"{chat}, bot message #{index + 1} ({len(mine)} sent by {first}, {len(theirs)} by "
                    f"{second}):\n{before}  {first}: {left}\n  {second}: {right}")
    return None


def check_same(
    scenario: str, runs: dict[str, Transcript], *, any_order: bool = False, at_least_once: bool = False,
    real_clock: bool = False,
) -> None:
    """Raise TranscriptMismatch, naming the first difference, unless both runs sent the same.

    `at_least_once`: a message repeated in a row counts once; `real_clock`: durations, times of day and edit
    counts are not compared.
    """
    if real_clock:
        runs = {runtime: without_clock_readings(transcript) for runtime, transcript in runs.items()}
    if at_least_once:
        runs = {runtime: without_repeats(transcript) for runtime, transcript in runs.items()}
    difference = first_difference(runs, any_order=any_order)
    if difference:
        first, second = runs
        raise TranscriptMismatch(f"{scenario}: the {first} and {second} runtimes sent different messages\n"
                                 f"{difference}")
