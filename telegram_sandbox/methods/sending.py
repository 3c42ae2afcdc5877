"""Methods that post new messages: sendMessage, sendPhoto, sendDocument, copies, chat actions."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from telegram_sandbox.content import caption_content, document_content, text_content
from telegram_sandbox.errors import ApiError, bad_request
from telegram_sandbox.files import image_size
from telegram_sandbox.formatting import caption_text, message_text
from telegram_sandbox.methods.common import checked_thread, send_target, source_message
from telegram_sandbox.methods.registry import bot_method
from telegram_sandbox.params import Params, Upload
from telegram_sandbox.state import SandboxState

MAX_PHOTO_UPLOAD = 10 * 1024 * 1024
MAX_DOCUMENT_UPLOAD = 50 * 1024 * 1024
MAX_PHOTO_SIDES_SUM = 10_000
MAX_PHOTO_RATIO = 20
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
# Message fields that copyMessage and forwardMessage carry over.
CONTENT_FIELDS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "video",
    "animation",
    "video_note",
    "audio",
    "location",
    "contact",
    "poll",
    "dice",
)


@bot_method("sendMessage", sends=True)
def send_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """Send a text message."""
    target = send_target(state, params)
    text, entities = message_text(
        params.text("text"), params.text("parse_mode"), params.structured("entities")
    )
    if params.has("link_preview_options") and not isinstance(params.structured("link_preview_options"), dict):
        raise bad_request("can't parse link preview options JSON object")
    return target.deliver(text_content(text, entities))


@bot_method("sendPhoto", sends=True)
def send_photo(state: SandboxState, params: Params) -> dict[str, Any]:
    """Send a photo by upload or by the file_id of a known photo."""
    target = send_target(state, params)
    caption = _caption(params)
    content = {"photo": _photo_sizes(state, params.input_file("photo")), **caption}
    _media_flags(params, content)
    return target.deliver(content)


@bot_method("sendDocument", sends=True)
def send_document(state: SandboxState, params: Params) -> dict[str, Any]:
    """Send a document by upload or by the file_id of a known document."""
    target = send_target(state, params)
    caption = _caption(params)
    content = {**_document(state, params.input_file("document")), **caption}
    return target.deliver(content)


@bot_method("sendMediaGroup", sends=True)
def send_media_group(state: SandboxState, params: Params) -> list[dict[str, Any]]:
    """Send 2-10 photos or documents as one album."""
    target = send_target(state, params)
    media = params.structured("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("media group must contain 2-10 items")
    kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
    if not kinds <= {"photo", "document"}:
        raise bad_request("media group items must be InputMediaPhoto or InputMediaDocument")
    if len(kinds) > 1:
        raise bad_request("documents can't be mixed with other media types in a media group")
    contents = []
    for item in media:
        caption, entities = caption_text(
            item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
        )
        file = params.attachment(item["media"]) if isinstance(item.get("media"), str) else None
        if item["type"] == "photo":
            content = {"photo": _photo_sizes(state, file)}
        else:
            content = _document(state, file)
        contents.append({**content, **caption_content(caption, entities)})
    group_id = str(secrets.randbits(60))
    return [target.deliver({**content, "media_group_id": group_id}) for content in contents]


@bot_method("copyMessage", sends=True)
def copy_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """Copy a message's content into a chat; answers with a MessageId."""
    source = source_message(state, params, "copy")
    if source.service:
        raise bad_request("message can't be copied")
    target = send_target(state, params)
    content = _copied_content(source.data)
    if params.has("caption"):
        if "text" in content:
            raise bad_request("can't set caption of a text message")
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(caption_content(*_caption_parts(params)))
    return {"message_id": target.post(content).id}


@bot_method("forwardMessage", sends=True)
def forward_message(state: SandboxState, params: Params) -> dict[str, Any]:
    """Forward a message; the copy says where it came from."""
    source = source_message(state, params, "forward")
    if source.service:
        raise bad_request("message can't be forwarded")
    target = send_target(state, params)
    origin = {"type": "user", "date": source.data["date"], "sender_user": source.data["from"]}
    return target.deliver({"forward_origin": origin, **_copied_content(source.data)})


@bot_method("sendChatAction")
def send_chat_action(state: SandboxState, params: Params) -> bool:
    """Show "typing…" and friends; only checks its arguments."""
    chat = state.writable_chat(params.values.get("chat_id"))
    if params.text("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    checked_thread(chat, params.integer("message_thread_id"))
    return True


def _caption_parts(params: Params) -> tuple[str, list[dict[str, Any]]]:
    return caption_text(
        params.text("caption"), params.text("parse_mode"), params.structured("caption_entities")
    )


def _caption(params: Params) -> dict[str, Any]:
    return caption_content(*_caption_parts(params))


def _media_flags(params: Params, content: dict[str, Any]) -> None:
    if params.flag("has_spoiler"):
        content["has_media_spoiler"] = True
    if params.flag("show_caption_above_media"):
        content["show_caption_above_media"] = True


def _photo_sizes(state: SandboxState, photo: Upload | str | None) -> list[dict[str, Any]]:
    if photo is None or photo == "":
        raise bad_request("there is no photo in the request")
    if isinstance(photo, str):
        sizes = state.files.photos.get(photo)
        if sizes is None:
            raise _unknown_file(state, photo)
        return copy.deepcopy(sizes)
    if len(photo.data) > MAX_PHOTO_UPLOAD:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    dimensions = image_size(photo.data)
    if dimensions is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = dimensions
    too_thin = max(width, height) > MAX_PHOTO_RATIO * max(1, min(width, height))
    if width + height > MAX_PHOTO_SIDES_SUM or too_thin:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return state.files.add_photo(photo.data, dimensions)


def _document(state: SandboxState, document: Upload | str | None) -> dict[str, Any]:
    if document is None or document == "":
        raise bad_request("there is no document in the request")
    if isinstance(document, str):
        stored = state.files.get(document)
        if stored is None or stored.kind != "document" or stored.media is None:
            raise _unknown_file(state, document)
        return {"document": copy.deepcopy(stored.media)}
    if len(document.data) > MAX_DOCUMENT_UPLOAD:
        raise ApiError(413, "Request Entity Too Large")
    return document_content(state.files, document.data, document.filename, None)


def _unknown_file(state: SandboxState, file_id: str) -> ApiError:
    if state.files.get(file_id) is not None:
        return bad_request("type of file mismatch")
    return bad_request("wrong file identifier/HTTP URL specified")


def _copied_content(data: dict[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(data[key]) for key in CONTENT_FIELDS if key in data}
