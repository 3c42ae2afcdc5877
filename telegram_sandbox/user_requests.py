"""JSON in and out for the /sandbox/ endpoints, with clear 4xx errors for bad input."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def fail(status: int, description: str) -> web.HTTPException:
    """Return the exception that answers {"error": description} with a 4xx status."""
    classes = {400: web.HTTPBadRequest, 404: web.HTTPNotFound, 409: web.HTTPConflict}
    return classes[status](text=dumps({"error": description}), content_type="application/json")


def dumps(value: Any) -> str:
    """Serialize JSON keeping non-ASCII text readable."""
    return json.dumps(value, ensure_ascii=False)


def json_reply(value: Any, status: int = 200) -> web.Response:
    """Return a JSON response."""
    return web.json_response(value, status=status, dumps=dumps)


async def read_body(request: web.Request) -> dict[str, Any]:
    """Return the JSON object body ({} when there is none)."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise fail(400, "request body must be JSON") from None
    if not isinstance(body, dict):
        raise fail(400, "request body must be a JSON object")
    return body


def integer(source: Any, name: str, default: int | None = None) -> int | None:
    """Return an optional integer field."""
    value = source.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise fail(400, f"{name} must be an integer") from None


def required_integer(source: Any, name: str) -> int:
    """Return an integer field that must be present."""
    value = integer(source, name)
    if value is None:
        raise fail(400, f"{name} is required")
    return value


def number(source: Any, name: str, default: float) -> float:
    """Return a numeric field."""
    try:
        return float(source.get(name, default))
    except (TypeError, ValueError):
        raise fail(400, f"{name} must be a number") from None
