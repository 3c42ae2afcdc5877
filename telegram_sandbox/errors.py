"""Bot API errors as Telegram reports them: an error_code and a description."""

from __future__ import annotations

from typing import Any

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
}


class ApiError(Exception):
    """A failed Bot API call, rendered as {"ok": false, ...} with the same HTTP status."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def as_json(self) -> dict[str, Any]:
        """Return the response body Telegram would send."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """Return a 400 error with Telegram's "Bad Request: ..." prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """Return a 403 error with Telegram's "Forbidden: ..." prefix."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """Return a 429 error carrying parameters.retry_after."""
    retry_after = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def default_error(error_code: int, retry_after: int | None = None) -> ApiError:
    """Return the error Telegram typically gives for a bare error code."""
    if error_code == 429:
        return too_many_requests(retry_after or 1)
    if error_code >= 500:
        return ApiError(error_code, "Internal Server Error")
    return ApiError(error_code, DEFAULT_DESCRIPTIONS.get(error_code, "Error"))
