"""At start-up the real runtime sets the command menu from the catalogs, in every language."""

import json

from handlers.texts import Texts

TEXTS = Texts.load()


def menu_of(language: str) -> list[dict]:
    commands = ("report", "status", "help", "language", "cancel")
    return [{"command": c, "description": TEXTS.catalogs[language][f"command_menu.{c}"]} for c in commands]


async def test_the_command_menu_comes_from_the_catalogs_in_both_languages(harness, payer, client):
    await payer.ask("/help")  # answered: start-up is over and polling runs
    calls = await client.calls("setMyCommands")
    menus = {call["params"].get("language_code"): call["params"]["commands"] for call in calls}
    menus = {language: json.loads(c) if isinstance(c, str) else c for language, c in menus.items()}
    assert menus == {None: menu_of("en"), "zh": menu_of("zh")}
    assert menus["zh"][0]["description"] == "报告重复扣款"
    assert all(call["status"] == 200 for call in calls)
