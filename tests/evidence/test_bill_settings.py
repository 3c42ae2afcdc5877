"""MERCHANT_NAMES and DUPLICATE_WINDOW: read from the operator's text and handed to the payer desk."""

from datetime import timedelta

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.wiring import Services, make_provider
from handlers.texts import Texts

TOKEN = "1:x"


@pytest.fixture(autouse=True)
def no_operator_environment(monkeypatch, tmp_path):
    """Only what a test sets: no .env of the working directory, no variable of the shell."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_by_default_no_names_and_ten_minutes():
    settings = load_settings(bot_token=TOKEN)
    assert settings.merchant_names == () and settings.duplicate_window == timedelta(minutes=10)


def test_names_and_window_reach_the_payer_desk(monkeypatch):
    monkeypatch.setenv("MERCHANT_NAMES", " Happy Tea，HappyTea 三里屯店 ,, ")
    monkeypatch.setenv("DUPLICATE_WINDOW", "90s")
    settings = load_settings(bot_token=TOKEN)
    services = Services(settings=settings, db=None, texts=Texts.load(), evidence=None, clock=None,
                        provider=make_provider(settings))
    rules = services.payer_desk(files=None).rules
    assert rules.merchant_names == ("Happy Tea", "HappyTea 三里屯店")
    assert rules.duplicate_window == timedelta(seconds=90)


@pytest.mark.parametrize("window", ["off", "0s", "soon"])
def test_a_window_must_be_a_positive_duration(window):
    with pytest.raises(ConfigError, match=r"^DUPLICATE_WINDOW: "):
        load_settings(bot_token=TOKEN, duplicate_window=window)
