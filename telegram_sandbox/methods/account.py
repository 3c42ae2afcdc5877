"""Methods about the bot itself: getMe, commands, close and logOut."""

from __future__ import annotations

import json
import re
from typing import Any

from telegram_sandbox.errors import bad_request
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState

_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
MAX_COMMANDS = 100
MAX_DESCRIPTION = 256


@bot_method("getMe")
def get_me(state: SandboxState, params: Params) -> dict[str, Any]:
    """Describe the bot account."""
    return {
        **state.bot.as_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@bot_method("close")
def close(state: SandboxState, params: Params) -> bool:
    """Accept close (nothing to close in the sandbox)."""
    return True


@bot_method("logOut")
def log_out(state: SandboxState, params: Params) -> bool:
    """Accept logOut (nothing to log out of in the sandbox)."""
    return True


@bot_method("setMyCommands")
def set_my_commands(state: SandboxState, params: Params) -> bool:
    """Store the command list for a scope and language."""
    commands = params.structured("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON array")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands")
    checked = [_checked_command(command) for command in commands]
    state.commands[_commands_key(params)] = checked
    return True


@bot_method("getMyCommands")
def get_my_commands(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """Return the command list for a scope and language."""
    return state.commands.get(_commands_key(params), [])


@bot_method("deleteMyCommands")
def delete_my_commands(state: SandboxState, params: Params) -> bool:
    """Forget the command list for a scope and language."""
    state.commands.pop(_commands_key(params), None)
    return True


def _checked_command(command: Any) -> dict[str, str]:
    if not isinstance(command, dict):
        raise bad_request("can't parse commands JSON array")
    name = command.get("command")
    description = command.get("description")
    if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name.removeprefix("/")):
        raise bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description.strip()) <= MAX_DESCRIPTION:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": name.removeprefix("/"), "description": description}


def _commands_key(params: Params) -> str:
    scope = params.structured("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps([scope, params.text("language_code") or ""], sort_keys=True)
