"""`/broadcasts`: a merchant's scheduled and past broadcasts with their counts, and cancelling one."""

from handlers.buttons import BroadcastCancelButton
from handlers.events import EventKind, Toast
from handlers.payer.turn import Turn
from handlers.texts import format_moment
from storage.broadcasts import (
    OPEN,
    BroadcastCounts,
    broadcast_by_id,
    cancel_broadcast,
    counts_of,
    recent_broadcasts,
)
from storage.models import Broadcast, id_of

SHOWN = 10


def broadcast_line(turn: Turn, broadcast: Broadcast, counts: BroadcastCounts) -> str:
    """One broadcast: number, status, time, what and to whom, and how its messages stand."""
    if broadcast.tip_number is not None:
        content = turn.t("merchant.broadcast.list_tip", number=broadcast.tip_number)
    else:
        content = turn.t("merchant.broadcast.list_own")
    return turn.t(
        "merchant.broadcast.list_line",
        id=id_of(broadcast),
        status=turn.t(f"merchant.broadcast.status_{broadcast.status}"),
        when=format_moment(broadcast.scheduled_at, turn.rules.zone, turn.locale),
        content=content,
        audience=turn.t(f"merchant.broadcast.list_audience_{broadcast.audience}"),
        recipients=counts.recipients,
        sent=counts.sent,
        delivered=counts.delivered,
        unreachable=counts.unreachable,
        failed=counts.failed,
    )


async def list_broadcasts(turn: Turn) -> None:
    """The newest broadcasts, each with its counts; a Cancel button for each one still open."""
    broadcasts = await recent_broadcasts(turn.session, limit=SHOWN)
    if not broadcasts:
        turn.say(turn.t("merchant.broadcast.list_empty"))
        return
    counts = await counts_of(turn.session, broadcasts)
    lines = [turn.t("merchant.broadcast.list_header", count=len(broadcasts))]
    lines += [broadcast_line(turn, b, counts[id_of(b)]) for b in broadcasts]
    cancels = tuple(
        (turn.button("merchant.broadcast.cancel_one", BroadcastCancelButton(id_of(b)).pack(), id=id_of(b)),)
        for b in broadcasts
        if b.status in OPEN
    )
    turn.say("\n\n".join(lines), cancels)


async def press_cancel(turn: Turn) -> bool:
    """A `bcx:<id>` button: cancel that broadcast if it is still scheduled or running; False if not one."""
    if turn.event.kind is not EventKind.BUTTON:
        return False
    button = BroadcastCancelButton.parse(turn.event.button_data)
    if button is None:
        return False
    broadcast = await broadcast_by_id(turn.session, broadcast_id=button.broadcast_id, lock=True)
    if broadcast is None:
        turn.outcome.outputs.append(Toast(turn.t("button.stale")))
        return True
    if broadcast.status not in OPEN:
        status = turn.t(f"merchant.broadcast.status_{broadcast.status}")
        turn.say(turn.t("merchant.broadcast.cancel_too_late", id=button.broadcast_id, status=status))
        return True
    dropped = await cancel_broadcast(turn.session, broadcast, now=turn.now)
    turn.say(turn.t("merchant.broadcast.cancelled", id=button.broadcast_id, dropped=dropped))
    return True

