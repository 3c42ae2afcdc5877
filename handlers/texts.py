"""The bot's sentences in each language, read from the gettext catalogs in locales/."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from locales import LANGUAGES, catalog_path

BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


def pick_locale(language_code: str | None, default: str) -> str:
    """First guess of a user's language: any zh* is Chinese, else the default."""
    if language_code and language_code.lower().startswith("zh"):
        return "zh"
    return default if default in LANGUAGES else "en"


class Texts:
    """Looks up a message by key in the user's language and fills its placeholders."""

    def __init__(self, catalogs: dict[str, dict[str, str]]) -> None:
        self.catalogs = catalogs

    @classmethod
    def load(cls) -> "Texts":
        """Read every catalog in locales/."""
        catalogs: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            with catalog_path(language).open("rb") as handle:
                catalog = read_po(handle, locale=language)
            # The catalogs have no plural entries, whose ids and strings would be tuples.
            catalogs[language] = {
                m.id: m.string
                for m in catalog
                if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string
            }
        return cls(catalogs)

    def get(self, locale: str, key: str, **params: object) -> str:
        """The message `key` in `locale` (English if missing there), with placeholders filled."""
        template = self.catalogs.get(locale, {}).get(key) or self.catalogs["en"].get(key, key)
        return template.format(**params) if params else template


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """An amount as the locale writes it: $49.99, ¥99.00, US$49.99 …"""
    return format_currency(amount, currency, locale=BABEL_LOCALES.get(locale, "en_US"))


def format_moment(moment: datetime, zone: ZoneInfo, locale: str, *, day_only: bool = False) -> str:
    """A time in the configured zone, as the locale writes it."""
    babel_locale = BABEL_LOCALES.get(locale, "en_US")
    local = moment.astimezone(zone)
    if day_only:
        return format_date(local.date(), format="medium", locale=babel_locale)
    day = format_date(local.date(), format="medium", locale=babel_locale)
    return f"{day} {format_time(local.timetz(), format='short', locale=babel_locale)}"


def format_items(items: list[str], locale: str) -> str:
    """A list as the locale writes it: "a, b, and c" / "a、b和c"."""
    return format_list(items, locale=BABEL_LOCALES.get(locale, "en_US"))
