"""An order's charges as a reporter sees them: with their live refunds and the reporter's payer links."""

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import PayerLink, Refund, RefundStatus, Transaction
from storage.upsert import table_of

_CHARGES = table_of(Transaction)
_LINKS = table_of(PayerLink)
# charges_of_order, live_refunds_of_charges and payer_ids_linked_to in one round trip: a charge has at most
# one live refund, and a (payer, Telegram user) pair at most one link, so each charge is one row.
_ORDER_CHARGES = (
    select(*_CHARGES.c, Refund, _LINKS.c.payer_id.label("linked_payer_id"))
    .select_from(_CHARGES)
    .outerjoin(Refund, and_(col(Refund.transaction_id) == _CHARGES.c.transaction_id,
                            col(Refund.status) != RefundStatus.FAILED))
    .outerjoin(_LINKS, and_(_LINKS.c.payer_id == _CHARGES.c.payer_id,
                            _LINKS.c.telegram_user_id == bindparam("telegram_user_id")))
    .where(_CHARGES.c.order_id == bindparam("order_id"))
    .order_by(_CHARGES.c.created_at, _CHARGES.c.transaction_id)
)
_CHARGE_COLUMNS = [column.key for column in _CHARGES.c]


@dataclass(frozen=True)
class OrderCharges:
    """Every charge of the order (oldest first), each one's live refund, the named payers the user is."""

    charges: list[Transaction]
    refunds: dict[str, Refund]
    linked_payer_ids: set[str]


async def order_charges_for(session: AsyncSession, *, order_id: str, telegram_user_id: int) -> OrderCharges:
    """The order's charges (read-only objects), their refunds that did not fail, and which of the payers
    they name this Telegram user is linked to."""
    params = {"order_id": order_id, "telegram_user_id": telegram_user_id}
    result = await session.exec(_ORDER_CHARGES, params=params)  # type: ignore[call-overload]  # columns + entity
    charges: list[Transaction] = []
    refunds: dict[str, Refund] = {}
    linked: set[str] = set()
    for row in result:
        charge = Transaction.model_construct(**{key: row[index] for index, key in enumerate(_CHARGE_COLUMNS)})
        charges.append(charge)
        refund, linked_payer_id = row[-2], row[-1]
        if refund is not None:
            refunds[charge.transaction_id] = refund
        if linked_payer_id is not None:
            linked.add(linked_payer_id)
    return OrderCharges(charges, refunds, linked)
