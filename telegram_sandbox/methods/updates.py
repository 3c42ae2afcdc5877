"""Methods about receiving updates: getUpdates and the webhook."""

from __future__ import annotations

import re
from typing import Any

from telegram_sandbox.errors import ApiError, bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState
from telegram_sandbox.updates import MAX_LIMIT
from telegram_sandbox.webhook import DEFAULT_MAX_CONNECTIONS, WebhookConfig

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_CONNECTIONS_LIMIT = 100


@bot_method("getUpdates")
async def get_updates(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """Long-poll for updates; an offset confirms (drops) every update below it; 409 while a webhook is set."""
    if state.webhook.config is not None:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    state.updates.set_allowed(_allowed_updates(params))
    return await state.updates.poll(
        offset=params.integer("offset", 0) or 0,
        limit=params.integer("limit", MAX_LIMIT) or MAX_LIMIT,
        timeout=max(0.0, params.number("timeout", 0) or 0),
    )


@bot_method("setWebhook")
def set_webhook(state: SandboxState, params: Params) -> bool:
    """Register the webhook (an empty url removes it); queued updates are POSTed to it from now on."""
    url = params.text("url", "") or ""
    if not url:
        state.webhook.delete()
        return True
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections", DEFAULT_MAX_CONNECTIONS) or DEFAULT_MAX_CONNECTIONS
    if not 1 <= max_connections <= MAX_CONNECTIONS_LIMIT:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = _allowed_updates(params)
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.set_allowed(allowed)
    state.webhook.set(WebhookConfig(url, secret, allowed, max_connections))
    return True


@bot_method("deleteWebhook")
def delete_webhook(state: SandboxState, params: Params) -> bool:
    """Remove the webhook (getUpdates works again); drop_pending_updates also drops the queue."""
    state.webhook.delete()
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    return True


@bot_method("getWebhookInfo")
def get_webhook_info(state: SandboxState, params: Params) -> dict[str, Any]:
    """The webhook's url, the updates waiting and its last failure."""
    return state.webhook.info()


def _allowed_updates(params: Params) -> list[str] | None:
    allowed = params.structured("allowed_updates")
    if allowed is not None and not (
        isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed)
    ):
        raise bad_request("can't parse allowed_updates JSON array")
    return allowed
