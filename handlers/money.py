"""Amounts as Decimal in code, integer minor units in the database."""

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision, list_currencies

KNOWN_CURRENCIES = frozenset(list_currencies())


def decimals_of(currency: str) -> int:
    """How many decimals the currency has (JPY 0, CNY 2, KWD 3)."""
    return get_currency_precision(currency)


@dataclass(frozen=True)
class Money:
    """An exact amount in a currency."""

    amount: Decimal
    currency: str

    @property
    def minor(self) -> int:
        """The amount in minor units (cents, fen)."""
        return int(self.amount.scaleb(decimals_of(self.currency)))

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> "Money":
        """Money from integer minor units."""
        places = decimals_of(currency)
        return cls(Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)), currency)
