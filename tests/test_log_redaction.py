"""The log redaction the CLI installs: no secret in any formatted record, traceback or stack."""

import io
import logging
import sys
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from bot.log_redaction import MASK, RedactingFormatter, Redactor, redact_secrets

TOKEN = "123456:unit-test-secret-token"
SECRET_PART = "unit-test-secret-token"
URL = f"http://127.0.0.1:8081/file/bot{TOKEN}/photos/file_1.jpg"


class Installed:
    """A logger of a library, and what the root logger's handlers wrote."""

    def __init__(self) -> None:
        self.log = logging.getLogger("some.library")
        self.before, self.after = io.StringIO(), io.StringIO()

    def text(self) -> str:
        return self.before.getvalue() + self.after.getvalue()


@pytest.fixture
def installed() -> Iterator[Installed]:
    """The redaction installed the CLI's way, with one standard handler before it and one after it."""
    root, level = logging.getLogger(), logging.getLogger().level
    seen = Installed()
    early, late = logging.StreamHandler(seen.before), logging.StreamHandler(seen.after)
    early.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(early)
    root.setLevel(logging.DEBUG)
    redaction = redact_secrets(TOKEN, "")
    root.addHandler(late)  # no formatter: the handler's default one
    yield seen
    root.removeHandler(late)
    root.removeHandler(early)
    redaction.undo()
    root.setLevel(level)


def assert_clean(text: str) -> None:
    assert TOKEN not in text and SECRET_PART not in text and MASK in text


def test_an_exception_carrying_the_token_is_redacted_in_the_traceback(installed):
    try:
        raise ConnectionError(f"404, message='Not Found', url='{URL}'")
    except ConnectionError:
        installed.log.exception("download failed")
    text = installed.text()
    assert text.count("Traceback (most recent call last)") == 2 and text.count("download failed") == 2
    assert_clean(text)


def test_a_chained_exception_is_redacted_too(installed):
    try:
        try:
            raise OSError(URL)
        except OSError as cause:
            raise RuntimeError("getFile failed") from cause
    except RuntimeError:
        installed.log.debug("while downloading", exc_info=True)
    text = installed.text()
    assert "getFile failed" in text and "direct cause" in text
    assert_clean(text)


def test_the_arguments_and_the_stack_are_redacted(installed):
    installed.log.warning("GET %s -> %d", URL, 404)
    installed.log.info("where am I", stack_info=True, extra={"at": "123456:unit-test-secret-token"})
    text = installed.text()
    assert text.count(f"GET http://127.0.0.1:8081/file/bot{MASK}/photos/file_1.jpg -> 404") == 2
    assert text.count("Stack (most recent call last)") == 2
    assert_clean(text)


def test_the_wrapping_formatter_alone_redacts_message_arguments_traceback_and_stack():
    try:
        raise ValueError(URL)
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("aiohttp.client", logging.ERROR, __file__, 1, "failed: %s", (URL,), exc_info,
                               sinfo=f"Stack (most recent call last):\n  session.get({URL!r})")
    text = RedactingFormatter(logging.Formatter(), Redactor([TOKEN])).format(record)
    assert "ValueError" in text and "failed: " in text and "session.get(" in text
    assert_clean(text)


def test_the_url_quoted_token_and_its_secret_part_alone_are_redacted():
    redact = Redactor([TOKEN, ""])
    assert redact(f"a {quote(TOKEN, safe='')} b {SECRET_PART} c") == f"a {MASK} b {MASK} c"
    assert redact("bot 123456 is fine") == "bot 123456 is fine"  # the bot id is public
    assert Redactor([""])("nothing to hide") == "nothing to hide"


def test_an_uncaught_exception_is_printed_redacted(installed, capsys):
    try:
        raise ConnectionError(URL)
    except ConnectionError:
        sys.excepthook(*sys.exc_info())
    printed = capsys.readouterr().err
    assert "ConnectionError" in printed
    assert_clean(printed)


def test_undo_restores_logging_as_it_was():
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    formatter = logging.Formatter("%(message)s")
    handler.setFormatter(formatter)
    root.addHandler(handler)
    factory, hook = logging.getLogRecordFactory(), sys.excepthook
    try:
        redact_secrets(TOKEN).undo()
    finally:
        root.removeHandler(handler)
    assert (logging.getLogRecordFactory(), sys.excepthook, handler.formatter) == (factory, hook, formatter)
