"""A refund recorded as made outside the bot, and the provider's late word about the refused attempt."""

import asyncio

import pytest

from handlers.events import Reply
from storage.models import RefundStatus, TicketStatus
from tests.desks.test_resolving_tickets import agent_writes, post_card, send_button
from tests.money.conftest import SUPPORT_CHAT, World, make_world
from tests.money.test_attacks import SUCCEEDED, push, support_texts

ANN = 7


@pytest.fixture
def manual_world(db, tmp_path) -> World:
    """Every ticket goes to a person."""
    return make_world(db, tmp_path, auto_limit=None)


async def refused_then_outside_previewed(world: World) -> tuple[str, str]:
    """Ann's refund is refused; the agent previews a bank transfer. The ticket reference and Send's data."""
    ticket = await world.reported_duplicate(ANN)
    world.merchant.script.extend(["failed"])
    await world.agent_presses(f"sd:{ticket.reference}:approve")
    await post_card(world, ticket)
    await world.agent_presses(f"sd:{ticket.reference}:outside")
    [preview] = [o for o in await agent_writes(world, "99.00 bank transfer BT-9") if isinstance(o, Reply)]
    return ticket.reference, send_button(preview)


async def test_a_late_success_after_an_outside_refund_warns_of_a_double_refund(manual_world: World):
    world = manual_world
    reference, send = await refused_then_outside_previewed(world)
    await world.agent_presses(send)
    await push(world, reference, SUCCEEDED)  # the refused attempt went through after all

    [ticket] = await world.tickets()
    failed, outside = await world.refunds()
    assert ticket.status == TicketStatus.REFUNDED
    assert (failed.status, outside.status) == (RefundStatus.FAILED, RefundStatus.SUCCEEDED)
    [warning] = support_texts(await world.outbox(SUPPORT_CHAT), "double_refund")
    assert reference in warning


async def test_an_outside_refund_racing_a_late_success_lands_once_and_never_silently_twice(manual_world):
    world = manual_world
    reference, send = await refused_then_outside_previewed(world)
    await asyncio.gather(world.agent_presses(send), push(world, reference, SUCCEEDED))

    [ticket] = await world.tickets()
    landed = [r for r in await world.refunds() if r.status == RefundStatus.SUCCEEDED]
    warnings = support_texts(await world.outbox(SUPPORT_CHAT), "double_refund")
    assert ticket.status == TicketStatus.REFUNDED
    assert len(landed) == 1 or (len(landed) == 2 and len(warnings) == 1)  # both paid: support is told
