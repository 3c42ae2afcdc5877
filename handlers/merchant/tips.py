"""The built-in library of payment-safety tips, and what one recipient of a broadcast reads."""

from handlers.buttons import TipsButton, TipsChoice
from handlers.events import Button
from handlers.texts import Texts
from storage.models import Broadcast

TIP_COUNT = 8  # catalog keys tip.1 … tip.8, in both languages
TELEGRAM_TEXT_LIMIT = 4096  # characters of a text message


def tip_key(number: int) -> str:
    """The catalog key of library tip `number` (1-based)."""
    if not 1 <= number <= TIP_COUNT:
        raise ValueError(f"there is no tip {number}: the library has tips 1 to {TIP_COUNT}")
    return f"tip.{number}"


def next_tip(last: int | None) -> int:
    """The library tip after `last`, round and round (the weekly tip)."""
    return 1 if last is None or last >= TIP_COUNT else last + 1


def broadcast_text(texts: Texts, broadcast: Broadcast, locale: str, default_locale: str) -> str:
    """Exactly what a recipient speaking `locale` is sent: their language's text, else the default's."""
    if broadcast.tip_number is not None:
        return texts.get(locale, tip_key(broadcast.tip_number))
    own = broadcast.text_zh if locale == "zh" else broadcast.text_en
    fallback = broadcast.text_zh if default_locale == "zh" else broadcast.text_en
    text = own or fallback or broadcast.text_en or broadcast.text_zh
    assert text, f"broadcast {broadcast.id} has no text"
    return text


def recipient_buttons(texts: Texts, locale: str) -> tuple[tuple[Button, ...], ...]:
    """The "Stop tips" button row every tip carries, in the recipient's language."""
    return ((Button(texts.get(locale, "tips.stop_button"), TipsButton(TipsChoice.OFF).pack()),),)
