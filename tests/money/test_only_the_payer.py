"""When the merchant's records name the payer, only the Telegram user linked to that payer is trusted."""

from storage.models import PayerCheck
from tests.money.conftest import SUPPORT_CHAT, World, outputs_text

ANN, MALLORY = 7, 66
NAMED = (("tx1", "A1", "payer-ann", "succeeded"), ("tx2", "A1", "payer-ann", "succeeded"))


async def card_texts(world: World) -> str:
    """What the support group would see: the card as rendered now, and the notices."""
    tickets = await world.tickets()
    async with world.db.transaction() as session:
        parts = []
        for ticket in tickets:
            parts.append(await world.support.renderer.text(session, ticket, None, world.clock()))
    return "\n".join(parts)


async def test_the_linked_payer_is_auto_approved(world: World):
    await world.records(*NAMED, telegram={"payer-ann": ANN})

    answer = outputs_text(await world.report(ANN))

    [ticket] = await world.tickets()
    assert ticket.payer_check == PayerCheck.LINKED and ticket.status == "refund_pending"
    assert "We found 2 charges" in answer  # the payer is shown their own charges
    assert world.merchant.refunded == {"tx2": 1}


async def test_someone_who_is_not_the_payer_is_never_auto_approved_nor_shown_the_charges(world: World):
    await world.records(*NAMED, telegram={"payer-ann": ANN})

    answer = outputs_text(await world.report(MALLORY))

    [ticket] = await world.tickets()
    assert ticket.payer_check == PayerCheck.NOT_LINKED and ticket.status == "needs_review"
    assert world.merchant.keys == [] and await world.refunds() == []
    assert ticket.reference in answer
    for secret in ("We found", "charges of", "payer-ann", "tx1", "tx2"):  # charges, ids, payer
        assert secret not in answer
    assert "NOT the order's payer" in await card_texts(world)
    assert any(m.action == "card" for m in await world.outbox(SUPPORT_CHAT))


async def test_records_that_name_a_payer_nobody_is_linked_to_send_everyone_to_a_person(world: World):
    await world.records(*NAMED)

    await world.report(ANN)

    [ticket] = await world.tickets()
    assert (ticket.payer_check, ticket.status) == (PayerCheck.NOT_LINKED, "needs_review")
    assert await world.refunds() == []


async def test_someone_else_never_learns_that_the_order_was_refunded(world: World):
    await world.records(*NAMED, telegram={"payer-ann": ANN})
    ann = outputs_text(await world.report(ANN))
    reference = (await world.tickets())[0].reference

    mallory = outputs_text(await world.report(MALLORY))

    assert reference in ann and reference not in mallory
    assert "already" not in mallory and "We found" not in mallory
    assert len(await world.refunds()) == 1


async def test_records_without_a_payer_keep_todays_behaviour(world: World):
    await world.records(("tx1", "A1", "", "succeeded"), ("tx2", "A1", "", "succeeded"))

    await world.report(MALLORY)

    [ticket] = await world.tickets()
    assert (ticket.payer_check, ticket.status) == (PayerCheck.UNNAMED, "refund_pending")
