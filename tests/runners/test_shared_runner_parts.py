"""What every runner shares: the command menu from the catalogs, topics, 429 retries, the registry."""

import pytest

from bot.runners import RUNNERS, RunnerUnavailable, runner_factory
from bot.runners.shared import (
    MENU_COMMANDS,
    ChatUnreachable,
    announce_commands,
    command_menu,
    detect_topics,
    with_retry,
)
from handlers.ports import RetryAfter
from handlers.support.cards import SupportSettings
from handlers.texts import Texts

TEXTS = Texts.load()


class Shell:
    """The TelegramShell port, recording the menus set; the support group's topics as given."""

    def __init__(self, forum: bool | Exception = False):
        self.menus: dict[str | None, list[tuple[str, str]]] = {}
        self.forum = forum

    async def set_command_menu(self, commands: list[tuple[str, str]], language: str | None) -> None:
        self.menus[language] = commands

    async def is_forum(self, chat_id: int) -> bool:
        if isinstance(self.forum, Exception):
            raise self.forum
        return self.forum


async def test_the_menu_comes_from_the_catalogs_english_by_default_and_chinese_for_zh():
    shell = Shell()
    await announce_commands(shell, TEXTS)
    assert set(shell.menus) == {None, "zh"}
    assert shell.menus[None] == [
        ("report", "Report a duplicate charge"), ("status", "My refunds"), ("help", "Help"),
        ("language", "Language"), ("cancel", "Cancel the current report"),
    ]
    assert shell.menus["zh"] == [
        ("report", "报告重复扣款"), ("status", "我的退款"), ("help", "帮助"), ("language", "语言"),
        ("cancel", "取消当前报告"),
    ]


def test_every_menu_entry_is_a_sentence_of_the_catalog_in_every_language():
    for language in TEXTS.catalogs:
        menu = command_menu(TEXTS, language)
        assert [command for command, _ in menu] == list(MENU_COMMANDS)
        assert all(description == TEXTS.catalogs[language][f"command_menu.{command}"]
                   for command, description in menu)


@pytest.mark.parametrize(("forum", "topics"), [(True, True), (False, False), (ChatUnreachable("no"), False)])
async def test_topics_of_the_support_group(forum, topics):
    support = SupportSettings(chat_id=-100, topics=not topics)
    await detect_topics(Shell(forum), support)
    assert support.topics is topics


async def test_no_support_group_asks_nothing():
    support = SupportSettings(chat_id=None)
    await detect_topics(Shell(RuntimeError("must not be asked")), support)
    assert support.topics is False


class Flaky:
    """A send refused with 429 `refusals` times, then accepted."""

    def __init__(self, refusals: int):
        self.refusals, self.calls = refusals, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.refusals:
            raise RetryAfter(self.calls * 2)
        return "sent"


async def test_a_reply_waits_out_429s_for_as_long_as_telegram_asks():
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    send = Flaky(refusals=2)
    assert await with_retry(send, sleep=sleep) == "sent"
    assert send.calls == 3 and waits == [2, 4]


async def test_a_reply_refused_three_times_gives_up_with_the_429():
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    send = Flaky(refusals=3)
    with pytest.raises(RetryAfter):
        await with_retry(send, sleep=sleep)
    assert send.calls == 3 and waits == [2, 4]


class Pause:
    """The shared pause of every instance, as another instance left it."""

    def __init__(self, left: float):
        self.left, self.reported = left, []

    async def paused_for(self) -> float:
        left, self.left = self.left, 0.0
        return left

    async def pause(self, seconds: float) -> None:
        self.reported.append(seconds)


async def test_a_reply_sits_out_a_pause_another_instance_reported_and_reports_its_own_429():
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    shared = Pause(left=1.5)
    send = Flaky(refusals=1)
    assert await with_retry(send, sleep=sleep, shared=shared) == "sent"
    assert waits == [1.5, 2] and shared.reported == [2] and send.calls == 2


def test_the_registry_has_both_runtimes_and_names_what_is_missing():
    assert set(RUNNERS) == {"aiogram", "ptb"}
    assert runner_factory("ptb") is RUNNERS["ptb"]
    refusal = "BOT_RUNTIME=telethon is not available yet; use aiogram, ptb"
    with pytest.raises(RunnerUnavailable, match=refusal):
        runner_factory("telethon")
