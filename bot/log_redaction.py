"""Secrets never reach a log line: messages, arguments, tracebacks and stacks are all redacted."""

import logging
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

MASK = "***"
_SHORTEST_SECRET_PART = 8  # the part of a bot token after "<bot id>:" is redacted on its own too


class Redactor:
    """Replaces every known secret in a text by ***."""

    def __init__(self, secrets: Iterable[str] = ()):
        needles = set()
        for secret in filter(None, secrets):
            needles.update({secret, quote(secret, safe="")})
            _, _, after_id = secret.partition(":")
            if len(after_id) >= _SHORTEST_SECRET_PART:
                needles.add(after_id)
        self.needles = sorted(needles, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for needle in self.needles:
            text = text.replace(needle, MASK)
        return text


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter and redacts everything it writes (message, traceback, stack)."""

    def __init__(self, inner: logging.Formatter | None, redact: Redactor):
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def redact_record(record: logging.LogRecord, redact: Redactor) -> logging.LogRecord:
    """Bake the message, the exception text and the stack into the record, redacted."""
    try:
        record.msg, record.args = redact(record.getMessage()), None
    except Exception:  # a broken log call: leave it to the handler's own error report
        return record
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


@dataclass
class Redaction:
    """What `redact_secrets` installed, so that a test can take it back out."""

    redact: Redactor
    previous_factory: Callable[..., logging.LogRecord]
    previous_excepthook: Callable
    wrapped: list[tuple[logging.Handler, logging.Formatter | None]] = field(default_factory=list)

    def undo(self) -> None:
        """Restore the record factory, the excepthook and the handlers' formatters."""
        logging.setLogRecordFactory(self.previous_factory)
        sys.excepthook = self.previous_excepthook
        for handler, formatter in self.wrapped:
            handler.setFormatter(formatter)


def redact_secrets(*secrets: str) -> Redaction:
    """Keep these secrets out of every log line of every logger, from now on.

    Every record is redacted when it is made (so handlers added later are covered too), the root
    logger's handlers redact their whole output, and an uncaught exception's traceback is redacted.
    """
    redact = Redactor(secrets)
    previous_factory = logging.getLogRecordFactory()

    def make_record(*args, **kwargs) -> logging.LogRecord:
        return redact_record(previous_factory(*args, **kwargs), redact)

    redaction = Redaction(redact, previous_factory, sys.excepthook)
    logging.setLogRecordFactory(make_record)
    for handler in logging.getLogger().handlers:
        redaction.wrapped.append((handler, handler.formatter))
        handler.setFormatter(RedactingFormatter(handler.formatter, redact))

    def print_uncaught(kind, error, trace) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, trace))))

    sys.excepthook = print_uncaught
    return redaction
