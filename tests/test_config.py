"""Typed settings: operator text becomes timedelta, None, tuples and typed values once, at load time."""

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.wiring import Services, make_provider
from handlers.durations import Eta, QuietHours
from handlers.texts import Texts

TOKEN = "1:x"


@pytest.fixture(autouse=True)
def no_operator_environment(monkeypatch, tmp_path):
    """Only what a test sets: no .env of the working directory, no variable of the shell."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def services(settings: Settings) -> Services:
    return Services(settings=settings, db=None, texts=Texts.load(), evidence=None, clock=None,
                    provider=make_provider(settings))


def test_defaults_are_typed_values():
    settings = load_settings(bot_token=TOKEN)
    assert settings.support_sla == timedelta(hours=4)
    assert settings.sweep_interval == timedelta(seconds=30)
    assert settings.outbox_lease == timedelta(seconds=60)
    assert settings.overdue_grace == timedelta(days=2)
    assert settings.status_update_intervals == tuple(timedelta(days=d) for d in (1, 2, 4, 7))
    assert settings.quiet_hours == QuietHours(time(22, 0), time(8, 0))
    assert settings.refund_time == (Eta(business_days=10), {})
    assert settings.ledger_settlement_delay is None
    assert settings.auto_refund_limit is None
    assert settings.processed_updates_retention == timedelta(hours=48)


def test_the_environment_is_read_into_typed_values(monkeypatch):
    for name, value in {
        "SUPPORT_SLA": "90m", "SWEEP_INTERVAL": "5s", "LEDGER_SETTLEMENT_DELAY": "2h",
        "STATUS_UPDATE_INTERVALS": "12h, 1d", "QUIET_HOURS": "23:30-07:00",
        "REFUND_TIME": "wallet=5m,card=10bd,default=3bd", "AUTO_REFUND_LIMIT": "50.00",
        "SUPPORT_USER_IDS": "11, 22;33", "MERCHANT_ADMIN_IDS": "44", "SUPPORT_CHAT_ID": "-100123",
        "OVERDUE_GRACE": "0s",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(bot_token=TOKEN)
    assert settings.support_sla == timedelta(minutes=90)
    assert settings.sweep_interval == timedelta(seconds=5)
    assert settings.ledger_settlement_delay == timedelta(hours=2)
    assert settings.status_update_intervals == (timedelta(hours=12), timedelta(days=1))
    assert settings.quiet_hours == QuietHours(time(23, 30), time(7, 0))
    assert settings.refund_time == (Eta(business_days=3), {"wallet": Eta(duration=timedelta(minutes=5)),
                                                           "card": Eta(business_days=10)})
    assert settings.auto_refund_limit == Decimal("50.00")
    assert (settings.support_user_ids, settings.merchant_admin_ids) == ((11, 22, 33), (44,))
    assert settings.support_chat_id == -100123
    assert settings.overdue_grace == timedelta(0)


@pytest.mark.parametrize("name", [
    "support_sla", "ledger_settlement_delay", "processed_updates_retention", "outbox_retention",
    "evidence_retention", "quiet_hours", "auto_refund_limit",
])
def test_off_is_none_where_it_is_allowed(name):
    assert getattr(load_settings(bot_token=TOKEN, **{name: "off"}), name) is None


@pytest.mark.parametrize("name", ["sweep_interval", "outbox_lease", "prompt_timeout", "overdue_grace"])
def test_off_is_refused_where_it_means_nothing(name):
    with pytest.raises(ConfigError) as refused:
        load_settings(bot_token=TOKEN, **{name: "off"})
    message = str(refused.value)
    assert message.startswith(f"{name.upper()}: must be a duration like 30s")
    assert "'off' is not allowed" in message


def test_support_sla_off_reaches_the_support_desk_as_no_sla():
    assert services(load_settings(bot_token=TOKEN, support_sla="off")).support_settings().sla is None
    assert services(load_settings(bot_token=TOKEN)).support_settings().sla == timedelta(hours=4)


def test_the_wiring_uses_the_typed_values_without_defaults_of_its_own():
    settings = load_settings(bot_token=TOKEN, outbox_lease="7s", overdue_grace="1h", refund_time="2bd",
                             ledger_settlement_delay="10s", auto_refund_limit="80", quiet_hours="off",
                             outbox_retention="off", evidence_retention="3d")
    wired = services(settings)
    policy = wired.refund_policy()
    assert policy.schedule.overdue_grace == timedelta(hours=1) and policy.schedule.quiet_hours is None
    assert policy.eta == Eta(business_days=2) and policy.auto_refund_limit.amount == Decimal("80")
    assert wired.provider.settlement_delay == timedelta(seconds=10)
    assert wired.delivery(messenger=None).policy.lease == timedelta(seconds=7)
    assert wired.pruner().retention.outbox is None
    assert wired.evidence_collector().retention == timedelta(days=3)


@pytest.mark.parametrize(("overrides", "line"), [
    ({"support_sla": "soon"}, "SUPPORT_SLA: 'soon' is not a duration like 30s, 5m, 2h or 1d (or off)"),
    ({"sweep_interval": "0s"}, "SWEEP_INTERVAL: must be longer than zero"),
    ({"status_update_intervals": "1d,off"}, "STATUS_UPDATE_INTERVALS: '1d,off' must list positive durations"),
    ({"quiet_hours": "10-12"}, "QUIET_HOURS: '10-12' is not a range like 22:00-08:00 (or off)"),
    ({"refund_time": "soon"}, "REFUND_TIME: 'soon' is not"),
    ({"auto_refund_limit": "fifty"}, "AUTO_REFUND_LIMIT: 'fifty' is not an amount like 50.00 (or off)"),
    ({"auto_refund_limit": "-5"}, "AUTO_REFUND_LIMIT: must be a positive amount"),
    ({"support_user_ids": "alice"}, "SUPPORT_USER_IDS: 'alice' must be Telegram user ids separated by"),
    ({"payment_provider": "paypal"}, "PAYMENT_PROVIDER: Input should be 'ledger' or 'webhook'"),
    ({"bot_runtime": "telethon"}, "BOT_RUNTIME: Input should be 'aiogram' or 'ptb'"),
    ({"telegram_api_base": "api.telegram.org"}, "TELEGRAM_API_BASE: must be an http:// or https:// URL"),
    ({"timezone": "Mars/Base"}, "TIMEZONE: unknown time zone 'Mars/Base'"),
])
def test_a_bad_value_is_one_line_naming_the_variable(overrides, line):
    with pytest.raises(ConfigError) as refused:
        load_settings(bot_token=TOKEN, **overrides)
    message = str(refused.value)
    assert message.startswith(line) and "\n" not in message


def test_every_bad_value_gets_its_own_line():
    with pytest.raises(ConfigError) as refused:
        load_settings(bot_token=TOKEN, support_sla="soon", max_open_tickets="many", quiet_hours="never")
    lines = str(refused.value).splitlines()
    assert sorted(line.split(":")[0] for line in lines) == ["MAX_OPEN_TICKETS", "QUIET_HOURS", "SUPPORT_SLA"]


def test_the_webhook_provider_needs_its_url_and_secret():
    with pytest.raises(ConfigError, match=r"^PAYMENT_PROVIDER=webhook needs MERCHANT_REFUND_URL and "
                                          r"MERCHANT_WEBHOOK_SECRET$"):
        load_settings(bot_token=TOKEN, payment_provider="webhook", merchant_refund_url="https://shop.example/r")
    with pytest.raises(ConfigError, match=r"^MERCHANT_REFUND_URL: must be an http"):
        load_settings(bot_token=TOKEN, payment_provider="webhook", merchant_refund_url="shop.example/r",
                      merchant_webhook_secret="s3cret")
    settings = load_settings(bot_token=TOKEN, payment_provider="webhook",
                             merchant_refund_url="https://shop.example/r", merchant_webhook_secret="s3cret")
    assert settings.payment_provider == "webhook"


def test_a_missing_token_says_where_to_put_it():
    with pytest.raises(ConfigError, match=r"^BOT_TOKEN is required but not set"):
        load_settings()


def test_every_setting_is_documented_in_the_env_example():
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    documented = {line.split("=")[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert documented == {name.upper() for name in Settings.model_fields}
