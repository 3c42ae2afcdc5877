"""Methods about receiving updates: getUpdates and the webhook stand-ins."""

from __future__ import annotations

from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState
from telegram_sandbox.updates import MAX_LIMIT


@bot_method("getUpdates")
async def get_updates(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """Long-poll for updates; an offset confirms (drops) every update below it."""
    allowed = params.structured("allowed_updates")
    if allowed is not None and not (
        isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed)
    ):
        raise bad_request("can't parse allowed_updates JSON array")
    state.updates.set_allowed(allowed)
    return await state.updates.poll(
        offset=params.integer("offset", 0) or 0,
        limit=params.integer("limit", MAX_LIMIT) or MAX_LIMIT,
        timeout=max(0.0, params.number("timeout", 0) or 0),
    )


@bot_method("deleteWebhook")
def delete_webhook(state: SandboxState, params: Params) -> bool:
    """There is never a webhook; drop_pending_updates still drops the queue."""
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    return True


@bot_method("getWebhookInfo")
def get_webhook_info(state: SandboxState, params: Params) -> dict[str, Any]:
    """Report that no webhook is set."""
    return {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates.pending),
    }
