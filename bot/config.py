"""Settings from the environment and a .env file."""

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.money import KNOWN_CURRENCIES
from locales import LANGUAGES

IdList = Annotated[tuple[int, ...], NoDecode]


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
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]).upper() if item["loc"] else "settings"
            if item["type"] == "missing":
                problems.append(f"{name} is required but not set (put it in the environment or .env)")
            else:
                problems.append(f"{name}: {item['msg']}")
        raise ConfigError("; ".join(problems)) from None
