"""Every sentence exists in every language, with the same placeholders."""

import re
import string
from pathlib import Path

import pytest

from handlers.texts import Texts
from locales import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TEXTS = Texts.load()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def keys_used_in_code() -> set[str]:
    """String literals in handlers/ that look like message keys of a known namespace."""
    namespaces = {key.split(".")[0] for key in TEXTS.catalogs["en"]}
    literal = re.compile(r'"([a-z_]+\.[a-z_]+(?:\.[a-z_]+)?)"')
    used = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        used |= {k for k in literal.findall(path.read_text()) if k.split(".")[0] in namespaces}
    return used


def test_both_catalogs_have_the_same_keys():
    assert set(TEXTS.catalogs["en"]) == set(TEXTS.catalogs["zh"])
    assert len(TEXTS.catalogs["en"]) > 50


@pytest.mark.parametrize("key", sorted(TEXTS.catalogs["en"]))
def test_placeholders_agree(key):
    english = placeholders(TEXTS.catalogs["en"][key])
    for language in LANGUAGES:
        assert placeholders(TEXTS.catalogs[language][key]) == english, (language, key)


def test_every_key_the_code_names_exists():
    used = keys_used_in_code()
    assert "ask.order" in used and "amount.zero" in used
    missing = {k for k in used if k not in TEXTS.catalogs["en"]}
    assert not missing


def test_chinese_is_really_chinese():
    assert re.search(r"[\u4e00-\u9fff]", TEXTS.get("zh", "ask.order"))
    assert not re.search(r"[\u4e00-\u9fff]", TEXTS.get("en", "ask.order"))


def test_keys_built_at_run_time_exist():
    from bot.runners.shared import MENU_COMMANDS
    from handlers.payer.intake import EXPECTED
    from handlers.payer.menu import HELP_TOPICS
    from storage.models import TicketStatus

    built = {f"status.{s.value}" for s in TicketStatus} | set(EXPECTED.values())
    built |= {f"help.{t}.{part}" for t in HELP_TOPICS for part in ("question", "answer")}
    built |= {f"command_menu.{command}" for command in MENU_COMMANDS}
    assert built - set(TEXTS.catalogs["en"]) == set()
