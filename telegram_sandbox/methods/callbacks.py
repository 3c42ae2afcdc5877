"""answerCallbackQuery: each query is answered once, and soon."""

from __future__ import annotations

from telegram_sandbox.errors import bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import CALLBACK_ANSWER_WINDOW, SandboxState
from telegram_sandbox.utf16 import units

MAX_ANSWER_TEXT = 200
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


@bot_method("answerCallbackQuery")
def answer_callback_query(state: SandboxState, params: Params) -> bool:
    """Record the answer to a button press."""
    query_id = params.text("callback_query_id") or ""
    record = state.callbacks.get(query_id)
    too_old = record is not None and state.clock() - record.created > CALLBACK_ANSWER_WINDOW
    if record is None or record.answered or too_old:
        raise bad_request(QUERY_INVALID)
    text = params.text("text")
    if text is not None and units(text) > MAX_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    state.callback_answers.append(
        {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        }
    )
    return True
