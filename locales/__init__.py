"""Gettext catalogs, one folder per language."""

from pathlib import Path

CATALOG_DIR = Path(__file__).parent
LANGUAGES = ("en", "zh")


def catalog_path(language: str) -> Path:
    """The .po file of a language."""
    return CATALOG_DIR / language / "LC_MESSAGES" / "messages.po"
