"""Parameters of one Bot API call, read from the query string and any body encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from telegram_sandbox.errors import bad_request

# Fields that form encodings carry as JSON strings, and the error Telegram gives when they
# do not parse.
JSON_FIELDS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "allowed_updates": "can't parse allowed_updates JSON array",
    "reply_parameters": "can't parse reply parameters JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "commands": "can't parse commands JSON array",
    "media": "can't parse media JSON object",
    "entities": "can't parse entities JSON array",
    "caption_entities": "can't parse caption entities JSON array",
    "scope": "can't parse BotCommandScope JSON object",
}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Upload:
    """A file that arrived as a multipart part."""

    filename: str
    data: bytes


class Params:
    """Typed access to call parameters; form values arrive as strings and are coerced here."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None):
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        """Return whether the parameter was given with a non-null value."""
        return self.values.get(name) is not None or name in self.uploads

    def text(self, name: str, default: str | None = None) -> str | None:
        """Return a string parameter."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """Return an integer parameter; a non-integer value is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def required_integer(self, name: str) -> int:
        """Return an integer parameter that must be present."""
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        """Return a numeric parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """Return a boolean parameter ("true"/"false" in form encodings)."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def structured(self, name: str) -> Any:
        """Return a structured parameter, decoding it if it came as a JSON string."""
        value = self.values.get(name)
        if isinstance(value, str):
            return _decode_json(name, value)
        return value

    def input_file(self, name: str) -> Upload | str | None:
        """Return an uploaded file (direct part or attach://) or a file_id/URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if value is None:
            return None
        return self.attachment(value)

    def attachment(self, value: str) -> Upload | str:
        """Resolve "attach://<part>" to its upload; other strings are returned unchanged."""
        if not value.startswith("attach://"):
            return value
        upload = self.uploads.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload

    def loggable(self) -> dict[str, Any]:
        """Return the parameters with file bytes replaced by a short description."""
        logged = dict(self.values)
        for name, upload in self.uploads.items():
            logged[name] = {"file_name": upload.filename, "size": len(upload.data)}
        return logged


def _decode_json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise bad_request(JSON_FIELDS.get(name, f"can't parse {name} JSON")) from None


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and a JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            values.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[name] = Upload(value.filename, value.file.read())
                elif isinstance(value, (bytes, bytearray)):
                    values[name] = bytes(value).decode("utf-8", errors="replace")
                else:
                    values[name] = value
    for name in JSON_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = _decode_json(name, values[name])
    return Params(values, uploads)
