"""Rapid repeat payments: the same payer paying the same amount again within the duplicate window."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from itertools import pairwise

from storage.models import Transaction, TransactionStatus

Repeat = tuple[Transaction, Transaction]  # (the charge before, the repeat)


def find_repeats(charges: Iterable[Transaction], *, new: set[str], window: timedelta) -> list[Repeat]:
    """Each successful charge paid within `window` after another of the same payer, amount and currency.

    Only pairs touching a charge in `new` are returned; the repeat is paired with the charge just before it.
    """
    groups: dict[tuple[str, int, str], list[Transaction]] = defaultdict(list)
    for charge in charges:
        if charge.payer_id and charge.status == TransactionStatus.SUCCEEDED:
            groups[(charge.payer_id, charge.amount_minor, charge.currency)].append(charge)
    repeats: list[Repeat] = []
    for group in groups.values():
        group.sort(key=lambda c: (c.created_at, c.transaction_id))
        for before, repeat in pairwise(group):
            touches_new = before.transaction_id in new or repeat.transaction_id in new
            if touches_new and repeat.created_at - before.created_at <= window:
                repeats.append((before, repeat))
    return sorted(repeats, key=lambda pair: (pair[1].created_at, pair[1].transaction_id))
