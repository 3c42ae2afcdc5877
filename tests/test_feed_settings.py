"""The duplicate monitor's settings, read into the ChargeWatch the payment feed hands new charges to."""

from datetime import timedelta
from decimal import Decimal

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


def watch_of(settings: Settings):
    services = Services(settings=settings, db=None, texts=Texts.load(), evidence=None, clock=None,
                        provider=make_provider(settings))
    return services.charge_watch()


def test_the_defaults_watch_with_a_five_percent_alert():
    watch = watch_of(load_settings(bot_token=TOKEN))

    assert watch.monitor_on is True
    assert watch.alert_rate == Decimal("0.05")
    assert (watch.alert_min_charges, watch.alert_period) == (20, timedelta(hours=1))
    assert watch.policy.provider.name == "ledger"


def test_the_environment_sets_the_watch(monkeypatch):
    for name, value in {"DUPLICATE_MONITOR": "off", "DUPLICATE_ALERT_RATE": "2.5%",
                        "DUPLICATE_ALERT_MIN_CHARGES": "50", "DUPLICATE_ALERT_PERIOD": "30m",
                        "MERCHANT_ADMIN_IDS": "44,55", "DEFAULT_LOCALE": "zh"}.items():
        monkeypatch.setenv(name, value)

    watch = watch_of(load_settings(bot_token=TOKEN))

    assert watch.monitor_on is False
    assert watch.alert_rate == Decimal("0.025")
    assert (watch.alert_min_charges, watch.alert_period) == (50, timedelta(minutes=30))
    assert (watch.merchant_admin_ids, watch.default_locale) == ((44, 55), "zh")


@pytest.mark.parametrize(("text", "rate"), [("off", None), ("OFF", None), ("5", Decimal("0.05")),
                                            (" 0.5 % ", Decimal("0.005")), ("100%", Decimal(1))])
def test_the_alert_rate_is_a_percentage_or_off(monkeypatch, text, rate):
    monkeypatch.setenv("DUPLICATE_ALERT_RATE", text)

    assert load_settings(bot_token=TOKEN).duplicate_alert_rate == rate


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DUPLICATE_ALERT_RATE", "0%", "DUPLICATE_ALERT_RATE: '0%' is not a percentage between 0% and 100%"),
        ("DUPLICATE_ALERT_RATE", "150%", "DUPLICATE_ALERT_RATE: '150%' is not a percentage"),
        ("DUPLICATE_ALERT_RATE", "five", "DUPLICATE_ALERT_RATE: 'five' is not a percentage"),
        ("DUPLICATE_ALERT_MIN_CHARGES", "0", "DUPLICATE_ALERT_MIN_CHARGES: "),
        ("DUPLICATE_ALERT_PERIOD", "off", "DUPLICATE_ALERT_PERIOD: "),
        ("DUPLICATE_MONITOR", "maybe", "DUPLICATE_MONITOR: "),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as error:
        load_settings(bot_token=TOKEN)

    assert str(error.value).startswith(problem)


def test_the_ledger_provider_accepts_a_webhook_secret_for_the_feed():
    settings = load_settings(bot_token=TOKEN, merchant_webhook_secret="whsec_feed")

    assert settings.payment_provider == "ledger"
    assert settings.merchant_webhook_secret.get_secret_value() == "whsec_feed"
