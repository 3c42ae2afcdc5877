"""A merchant admin's private chat: their commands first; everything else is the payer desk's."""

from collections.abc import Awaitable, Callable

from handlers.events import EventKind
from handlers.merchant.broadcast_list import list_broadcasts, press_cancel
from handlers.merchant.compose import continue_draft, start_broadcast
from handlers.merchant.dashboard import show_dashboard
from handlers.monitor.listing import list_suspicions
from handlers.payer.turn import Turn

MerchantCommand = Callable[[Turn], Awaitable[None]]

# The merchant's slash commands (more are added by the merchant features: broadcasts, the dashboard).
COMMANDS: dict[str, MerchantCommand] = {
    "duplicates": list_suspicions,
    "broadcast": start_broadcast,
    "broadcasts": list_broadcasts,
    "merchant": show_dashboard,
    "dashboard": show_dashboard,
}


async def merchant_turn(turn: Turn) -> bool:
    """Handle the event if it is the merchant's business; False leaves it to the payer desk."""
    if turn.user.id not in turn.rules.merchant_admin_ids:
        return False
    event = turn.event
    if event.kind is EventKind.COMMAND and (command := COMMANDS.get(event.command)) is not None:
        await command(turn)
        return True
    # A draft being composed takes /cancel and typed text; the broadcast buttons are the merchant's.
    return await continue_draft(turn) or await press_cancel(turn)
