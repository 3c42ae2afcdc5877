"""getFile: turn a file_id into a downloadable file_path."""

from __future__ import annotations

from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState

MAX_DOWNLOAD = 20 * 1024 * 1024


@bot_method("getFile")
def get_file(state: SandboxState, params: Params) -> dict[str, Any]:
    """Return a File for a known file_id; bots may not download files over 20 MB."""
    stored = state.files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.file_size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.as_file()
