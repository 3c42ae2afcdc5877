"""Injected failures: the next matching bot calls fail with a chosen error."""

from __future__ import annotations

from dataclasses import dataclass

from telegram_sandbox.errors import ApiError, default_error

ANY_SEND = "*"
FILE_DOWNLOAD = "download"  # not a Bot API method: fetching {url}/file/bot{token}/{file_path}


@dataclass
class Fault:
    """Fail the next `count` calls of `method` (any send/edit for "*", file downloads for "download")."""

    method: str
    error_code: int
    count: int = 1
    retry_after: int | None = None
    description: str | None = None
    chat_id: int | None = None

    def matches(self, method: str, sends: bool, chat_id: int | None) -> bool:
        """Return whether this fault applies to a call."""
        if self.method == ANY_SEND:
            method_matches = sends
        else:
            method_matches = self.method.lower() == method.lower()
        return method_matches and (self.chat_id is None or self.chat_id == chat_id)

    def error(self) -> ApiError:
        """Return the error this fault produces."""
        error = default_error(self.error_code, self.retry_after)
        if self.description:
            error.description = self.description
        return error


class FaultBook:
    """Pending faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault."""
        if fault.count > 0:
            self.pending.append(fault)

    def take(self, method: str, sends: bool, chat_id: int | None) -> ApiError | None:
        """Consume one use of the first matching fault and return its error."""
        for fault in self.pending:
            if fault.matches(method, sends, chat_id):
                fault.count -= 1
                if fault.count <= 0:
                    self.pending.remove(fault)
                return fault.error()
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        self.pending.clear()
