"""Settings from the environment and a .env file."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.durations import QuietHours, parse_duration, parse_intervals, parse_refund_time
from handlers.money import KNOWN_CURRENCIES
from locales import LANGUAGES

IdList = Annotated[tuple[int, ...], NoDecode]
# Settings kept as the operator wrote them, checked at start-up by the parser that reads them later.
TEXT_SETTING_PARSERS = {
    "ledger_settlement_delay": parse_duration,
    "sweep_interval": parse_duration,
    "overdue_grace": parse_duration,
    "outbox_lease": parse_duration,
    "support_sla": parse_duration,
    "prompt_timeout": parse_duration,
    "status_update_intervals": parse_intervals,
    "quiet_hours": QuietHours.parse,
    "refund_time": parse_refund_time,
    "processed_updates_retention": parse_duration,
    "outbox_retention": parse_duration,
    "evidence_retention": parse_duration,
}
# Shortest retention allowed: Telegram redelivers an update for up to 24 h, so its dedupe row must outlive it.
SHORTEST_RETENTION = {"processed_updates_retention": "24h", "outbox_retention": "1d"}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


class Settings(BaseSettings):
    """Everything an operator can set (see .env.example)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_base: str = "https://api.telegram.org"
    database_url: str = ""
    data_dir: Path = Path("data")
    bot_runtime: str = "aiogram"
    support_chat_id: int | None = None
    support_user_ids: IdList = ()
    merchant_admin_ids: IdList = ()
    default_locale: str = "en"
    timezone: str = "UTC"
    default_currency: str = "CNY"
    refund_window_days: int = Field(default=180, ge=1, le=3650)

    payment_provider: str = "ledger"
    merchant_refund_url: str = ""
    merchant_webhook_secret: SecretStr = SecretStr("")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    auto_refund_limit: str = ""
    ledger_settlement_delay: str = "off"
    status_update_intervals: str = "1d,2d,4d,7d"
    sweep_interval: str = "30s"
    quiet_hours: str = "22:00-08:00"
    refund_time: str = "10bd"
    overdue_grace: str = "2d"
    outbox_rate: float = Field(default=25, gt=0, le=1000)
    outbox_lease: str = "60s"
    support_sla: str = "4h"
    prompt_timeout: str = "15m"
    max_open_tickets: int = Field(default=3, ge=1, le=100)
    max_reports_per_day: int = Field(default=5, ge=1, le=1000)
    processed_updates_retention: str = "48h"
    outbox_retention: str = "30d"
    evidence_retention: str = "7d"
    evidence_quota_mb: int = Field(default=50, ge=1, le=100_000)

    @field_validator(*TEXT_SETTING_PARSERS)
    @classmethod
    def _readable(cls, value: str, info: ValidationInfo) -> str:
        TEXT_SETTING_PARSERS[info.field_name](value)  # raises ValueError saying what is wrong
        return value

    @field_validator(*SHORTEST_RETENTION)
    @classmethod
    def _long_enough(cls, value: str, info: ValidationInfo) -> str:
        kept, shortest = parse_duration(value), SHORTEST_RETENTION[info.field_name]
        if kept is not None and kept < parse_duration(shortest):
            raise ValueError(f"must be at least {shortest} (or off to keep the rows forever)")
        return value

    @field_validator("prompt_timeout")
    @classmethod
    def _prompt_expires(cls, value: str) -> str:
        timeout = parse_duration(value)
        if timeout is None or timeout <= timedelta(0):
            raise ValueError("must be a positive duration like 15m (a prompt cannot wait forever)")
        return value

    @field_validator("auto_refund_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        if value.strip().lower() not in ("", "off"):
            try:
                amount = Decimal(value)
            except InvalidOperation:
                raise ValueError(f"{value!r} is not an amount like 50.00 (or off)") from None
            if not amount.is_finite() or amount <= 0:
                raise ValueError("must be a positive amount (or off)")
        return value

    @field_validator("payment_provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if value not in ("ledger", "webhook"):
            raise ValueError("must be ledger or webhook")
        return value

    @field_validator("support_user_ids", "merchant_admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
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

    @field_validator("bot_runtime")
    @classmethod
    def _known_runtime(cls, value: str) -> str:
        if value not in ("aiogram", "ptb"):
            raise ValueError("must be aiogram or ptb")
        return value

    def check_provider(self) -> None:
        """The webhook provider needs its URL and secret."""
        if self.payment_provider == "webhook" and not (
            self.merchant_refund_url and self.merchant_webhook_secret.get_secret_value()
        ):
            raise ConfigError(
                "PAYMENT_PROVIDER=webhook needs MERCHANT_REFUND_URL and MERCHANT_WEBHOOK_SECRET"
            )

    @property
    def refund_limit(self) -> Decimal | None:
        """AUTO_REFUND_LIMIT as an amount, or None when off."""
        text = self.auto_refund_limit.strip().lower()
        return None if text in ("", "off") else Decimal(text)

    @property
    def zone(self) -> ZoneInfo:
        """The zone typed times are read in."""
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'refund-bot.sqlite3'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one readable ConfigError."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]).upper() if item["loc"] else "settings"
            if item["type"] == "missing":
                problems.append(f"{name} is required but not set (put it in the environment or .env)")
            else:
                problems.append(f"{name}: {item['msg']}")
        raise ConfigError("; ".join(problems)) from None
    settings.check_provider()
    return settings
