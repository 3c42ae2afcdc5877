"""Settings from the environment and a .env file, read into typed values once, at start-up."""

import re
from collections.abc import Callable
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.durations import Eta, QuietHours, parse_duration, parse_intervals, parse_refund_time
from handlers.money import KNOWN_CURRENCIES
from locales import LANGUAGES

DURATION = "a duration like 30s, 5m, 2h or 1d"
# Shortest retention allowed: Telegram redelivers an update for up to 24 h, so its dedupe row must outlive it.
SHORTEST_RETENTION = {"processed_updates_retention": "24h", "outbox_retention": "1d"}
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SHORTEST_LINK_SECRET = 32  # characters of LINK_SECRET: links are public, so the secret must resist guessing


class ConfigError(RuntimeError):
    """The configuration cannot be used; one line per problem, each naming the setting."""


def _from_text(parse: Callable[[str], Any]) -> BeforeValidator:
    """Read a value the operator wrote as text; typed values given in code pass as they are."""
    return BeforeValidator(lambda value: parse(value) if isinstance(value, str) else value)


def _duration(text: str, *, off: bool, zero: bool = False) -> timedelta | None:
    """A duration as operators write it; `off` (None) only where the setting allows it."""
    try:
        duration = parse_duration(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {DURATION}{' (or off)' if off else ''}") from None
    if duration is None and not off:
        hint = " (0s for none)" if zero else ""
        given = repr(text.strip()) if text.strip() else "an empty value"
        raise ValueError(f"must be {DURATION}{hint}; {given} is not allowed here")
    return duration


def _positive(duration: timedelta | None) -> timedelta | None:
    if duration is not None and duration <= timedelta(0):
        raise ValueError(f"must be longer than zero: {DURATION}")
    return duration


def _intervals(text: str) -> tuple[timedelta, ...]:
    try:
        return parse_intervals(text)
    except ValueError:
        raise ValueError(f"{text!r} must list positive durations, e.g. 1d,2d,4d,7d") from None


def _ids(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{text!r} must be Telegram user ids separated by commas, e.g. 111,222") from None


def _names(text: str) -> tuple[str, ...]:
    """Names separated by commas (ASCII or full-width), each without surrounding spaces."""
    return tuple(name.strip() for name in text.replace("，", ",").split(",") if name.strip())


def _amount_or_off(text: str) -> Decimal | None:
    if text.strip().lower() in ("", "off"):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount like 50.00 (or off)") from None


def _percentage_or_off(text: str) -> Decimal | None:
    """A share written as a percentage (5%, 0.5%, or 5), as a fraction; off is None."""
    value = text.strip().lower()
    if value in ("", "off"):
        return None
    try:
        percent = Decimal(value.removesuffix("%").strip())
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite() or not 0 < percent <= 100:
        raise ValueError(f"{text!r} is not a percentage between 0% and 100% like 5% (or off)")
    return percent / 100


def _positive_amount(amount: Decimal | None) -> Decimal | None:
    if amount is not None and (not amount.is_finite() or amount <= 0):
        raise ValueError("must be a positive amount like 50.00 (or off)")
    return amount


# Typed values read from the operator's text (NoDecode: never parsed as JSON by pydantic-settings).
Duration = Annotated[timedelta, _from_text(partial(_duration, off=False, zero=True))]
PositiveDuration = Annotated[timedelta, _from_text(partial(_duration, off=False)), AfterValidator(_positive)]
DurationOrOff = Annotated[
    timedelta | None, _from_text(partial(_duration, off=True)), AfterValidator(_positive)
]
Intervals = Annotated[tuple[timedelta, ...], NoDecode, _from_text(_intervals)]
QuietHoursOrOff = Annotated[QuietHours | None, NoDecode, _from_text(QuietHours.parse)]
RefundTimes = Annotated[tuple[Eta, dict[str, Eta]], NoDecode, _from_text(parse_refund_time)]
IdList = Annotated[tuple[int, ...], NoDecode, _from_text(_ids)]
AmountOrOff = Annotated[Decimal | None, _from_text(_amount_or_off), AfterValidator(_positive_amount)]
ShareOrOff = Annotated[Decimal | None, _from_text(_percentage_or_off)]  # a fraction: 5% is Decimal("0.05")
NameList = Annotated[tuple[str, ...], NoDecode, _from_text(_names)]


class Settings(BaseSettings):
    """Everything an operator can set (see .env.example); each default lives here and only here."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_base: str = "https://api.telegram.org"
    database_url: str = ""
    data_dir: Path = Path("data")
    bot_runtime: Literal["aiogram", "ptb"] = "aiogram"
    support_chat_id: int | None = None
    support_user_ids: IdList = ()
    merchant_admin_ids: IdList = Field(default=(), description="merchant admins: /duplicates, spike alerts")
    default_locale: str = "en"
    timezone: str = "UTC"
    default_currency: str = "CNY"
    refund_window_days: int = Field(default=180, ge=1, le=3650)

    payment_provider: Literal["ledger", "webhook"] = "ledger"
    merchant_refund_url: str = ""
    merchant_webhook_secret: SecretStr = SecretStr("")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    bot_mode: Literal["polling", "webhook"] = "polling"  # webhook: Telegram posts to WEBHOOK_URL
    webhook_url: str = ""  # the public https address Telegram posts to; the bot listens at its path
    webhook_secret: SecretStr = SecretStr("")  # Telegram's secret_token: 1-256 of A-Z a-z 0-9 _ -
    webhook_max_connections: int = Field(default=40, ge=1, le=100)  # setWebhook's max_connections
    duplicate_monitor: bool = True
    duplicate_alert_rate: ShareOrOff = Decimal("0.05")
    duplicate_alert_min_charges: int = Field(default=20, ge=1, le=1_000_000)
    duplicate_alert_period: PositiveDuration = timedelta(hours=1)
    auto_refund_limit: AmountOrOff = None
    ledger_settlement_delay: DurationOrOff = None
    status_update_intervals: Intervals = tuple(timedelta(days=days) for days in (1, 2, 4, 7))
    sweep_interval: PositiveDuration = timedelta(seconds=30)
    quiet_hours: QuietHoursOrOff = QuietHours(time(22, 0), time(8, 0))
    refund_time: RefundTimes = (Eta(business_days=10), {})
    overdue_grace: Duration = timedelta(days=2)
    outbox_rate: float = Field(default=25, gt=0, le=1000)
    outbox_lease: PositiveDuration = timedelta(seconds=60)
    rate_limit_url: SecretStr = SecretStr("")  # redis://…: rate limit and 429 pause shared by instances
    support_sla: DurationOrOff = timedelta(hours=4)
    prompt_timeout: PositiveDuration = timedelta(minutes=15)
    max_open_tickets: int = Field(default=3, ge=1, le=100)
    max_reports_per_day: int = Field(default=5, ge=1, le=1000)
    processed_updates_retention: DurationOrOff = timedelta(hours=48)
    outbox_retention: DurationOrOff = timedelta(days=30)
    evidence_retention: DurationOrOff = timedelta(days=7)
    evidence_quota_mb: int = Field(default=50, ge=1, le=100_000)
    evidence_store: Literal["local", "s3"] = "local"  # s3: screenshots in S3_BUCKET, shared by several hosts
    s3_bucket: str = ""  # the (private) bucket of EVIDENCE_STORE=s3; credentials from the AWS_* variables
    s3_endpoint_url: str = ""  # empty: AWS itself; else an S3-compatible server (MinIO, Ceph, R2, ...)
    s3_region: str = ""  # empty: the AWS default (AWS_DEFAULT_REGION or ~/.aws/config)
    s3_prefix: str = "evidence/"  # keys are S3_PREFIX + the first 2 hex digits + / + the SHA-256
    merchant_names: NameList = ()
    duplicate_window: PositiveDuration = timedelta(minutes=10)
    link_secret: SecretStr = SecretStr("")
    link_ttl: PositiveDuration = timedelta(days=30)
    bot_username: str = ""
    weekly_tip: str = ""  # a cron expression in TIMEZONE ("0 10 * * MON"); empty: no weekly tip
    broadcast_paid: bool = False  # broadcasts with allow_paid_broadcast (paid in Stars), BROADCAST_PAID_RATE
    broadcast_paid_rate: float = Field(default=1000, gt=0, le=1000)

    @field_validator(*SHORTEST_RETENTION)
    @classmethod
    def _long_enough(cls, kept: timedelta | None, info: ValidationInfo) -> timedelta | None:
        shortest = SHORTEST_RETENTION[info.field_name]
        if kept is not None and kept < parse_duration(shortest):
            raise ValueError(f"must be at least {shortest} (or off to keep the rows forever)")
        return kept

    @field_validator("telegram_api_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL like https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("link_secret")
    @classmethod
    def _strong_link_secret(cls, value: SecretStr) -> SecretStr:
        """A short secret could be guessed offline from any one link; empty turns deep links off."""
        secret = value.get_secret_value()
        if secret and len(secret) < SHORTEST_LINK_SECRET:
            raise ValueError(
                f"must be at least {SHORTEST_LINK_SECRET} characters (or empty: deep links off); make one "
                "with python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str) -> str:
        name = value.strip().removeprefix("@")
        if name and not (5 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.isascii()):
            raise ValueError(f"{value!r} is not a Telegram bot username like refund_assistant_bot")
        return name

    @field_validator("weekly_tip")
    @classmethod
    def _cron(cls, value: str) -> str:
        """Five cron fields (minute hour day month weekday), checked now rather than when the bot starts."""
        from apscheduler.triggers.cron import CronTrigger

        value = " ".join(value.split())
        if value:
            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(
                    f"{value!r} is not a cron expression like \"0 10 * * MON\" (minute hour day month "
                    f"weekday; empty for no weekly tip): {error}"
                ) from None
        return value

    @field_validator("support_chat_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (use e.g. UTC or Asia/Shanghai)") from error
        return value

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value.upper() not in KNOWN_CURRENCIES:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value.upper()

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _provider_has_what_it_needs(self) -> "Settings":
        """The webhook provider needs where to post and the shared secret."""
        if self.payment_provider == "webhook":
            if not (self.merchant_refund_url and self.merchant_webhook_secret.get_secret_value()):
                raise ValueError(
                    "PAYMENT_PROVIDER=webhook needs MERCHANT_REFUND_URL and MERCHANT_WEBHOOK_SECRET"
                )
            if not self.merchant_refund_url.startswith(("http://", "https://")):
                raise ValueError("MERCHANT_REFUND_URL: must be an http:// or https:// URL")
        return self

    @model_validator(mode="after")
    def _evidence_store_has_what_it_needs(self) -> "Settings":
        """The S3 store needs its bucket."""
        if self.evidence_store == "s3" and not self.s3_bucket:
            raise ValueError("EVIDENCE_STORE=s3 needs S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _webhook_has_what_it_needs(self) -> "Settings":
        """Webhook mode needs the public URL and a secret token Telegram accepts."""
        if self.bot_mode != "webhook":
            return self
        if not WEBHOOK_SECRET_PATTERN.fullmatch(self.webhook_secret.get_secret_value()):
            raise ValueError("BOT_MODE=webhook needs WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ -")
        url = urlsplit(self.webhook_url)
        local = url.scheme == "http" and url.hostname in LOCAL_HOSTS  # a sandbox or a proxy on this host
        if not (url.hostname and (url.scheme == "https" or local)):
            raise ValueError("BOT_MODE=webhook needs WEBHOOK_URL: the public https:// address of the bot")
        return self

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the bot listens for Telegram."""
        return urlsplit(self.webhook_url).path or "/"

    @property
    def link_secret_bytes(self) -> bytes | None:
        """The deep-link secret as the desk takes it; None: deep links are off."""
        return self.link_secret.get_secret_value().encode("utf-8") or None

    @property
    def zone(self) -> ZoneInfo:
        """The zone typed times are read in."""
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'refund-bot.sqlite3'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings; every bad value becomes one line of a ConfigError naming its variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = dict.fromkeys(_problem(item) for item in error.errors())
        raise ConfigError("\n".join(problems)) from None


def _problem(item: Any) -> str:
    """One line: VARIABLE: what is expected."""
    message = item["msg"].removeprefix("Value error, ")
    if not item["loc"]:
        return message
    name = str(item["loc"][0]).upper()
    if item["type"] == "missing":
        return f"{name} is required but not set (put it in the environment or .env)"
    return f"{name}: {message}"
