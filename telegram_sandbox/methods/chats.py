"""Methods that describe chats and their members."""

from __future__ import annotations

from typing import Any

from telegram_sandbox.chats import Chat
from telegram_sandbox.errors import bad_request
from telegram_sandbox.members import member
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params
from telegram_sandbox.state import SandboxState


@bot_method("getChat")
def get_chat(state: SandboxState, params: Params) -> dict[str, Any]:
    """Return a ChatFullInfo."""
    return state.chat(params.values.get("chat_id")).as_full_info()


@bot_method("getChatMember")
def get_chat_member(state: SandboxState, params: Params) -> dict[str, Any]:
    """Return one member's status: the bot's is set per group (administrator unless told), the first member
    owns the group."""
    chat = state.chat(params.values.get("chat_id"))
    user_id = params.required_integer("user_id")
    if user_id == state.bot.id:
        status = "member" if chat.type == "private" else chat.bot_status
        return member(state.bot.as_user(), status)
    user = state.users.get(user_id)
    if user is None:
        raise bad_request("PARTICIPANT_ID_INVALID")
    return member(user.as_user(), _status(chat, user_id))


@bot_method("getChatAdministrators")
def get_chat_administrators(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """Return the group's owner and the bot (when it is an administrator there)."""
    chat = state.chat(params.values.get("chat_id"))
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    admins = [member(state.bot.as_user(), "administrator")] if chat.bot_status == "administrator" else []
    if chat.member_ids and chat.member_ids[0] in state.users:
        admins.insert(0, member(state.users[chat.member_ids[0]].as_user(), "creator"))
    return admins


def _status(chat: Chat, user_id: int) -> str:
    if chat.type == "private":
        return "member" if chat.id == user_id else "left"
    if user_id not in chat.member_ids:
        return "left"
    return "creator" if chat.member_ids[0] == user_id else "member"
