"""Telegram's errors, as python-telegram-bot raises them, in the Messenger port's words."""

import contextlib
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.runners.refusals import TelegramUnreachable, bad_request_error, is_unchanged
from handlers.ports import RecipientUnreachable, RetryAfter


class TelegramServerError(Exception):
    """Telegram answered with a server error (5xx): its description, as aiogram's error of that name."""


def retry_seconds(error: PtbRetryAfter) -> float:
    """The pause a 429 asks for, in seconds (PTB 22 gives an int or a timedelta, by PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # the int form is deprecated; either is read
        pause = error.retry_after
    return pause.total_seconds() if isinstance(pause, timedelta) else float(pause)


@contextlib.asynccontextmanager
async def telegram_errors() -> AsyncIterator[None]:
    """Telegram's errors as the port's: 429, 403, a gone topic or message, a network error (in words)."""
    try:
        yield
    except PtbRetryAfter as error:
        raise RetryAfter(retry_seconds(error)) from error
    except Forbidden as error:
        raise RecipientUnreachable(error.message) from error
    except BadRequest as error:  # PTB's BadRequest is a NetworkError: it is told apart first
        if is_unchanged(error.message):
            return
        if (named := bad_request_error(error.message)) is not None:
            raise named from error
        raise
    except NetworkError as error:
        if error.__cause__ is None and not isinstance(error, TimedOut):  # Telegram did answer, with a 5xx
            raise TelegramServerError(error.message) from None
        # httpx's error, the cause, may carry the URL, and so the token
        cause = type(error.__cause__).__name__ if error.__cause__ else type(error).__name__
        raise TelegramUnreachable(f"network error talking to Telegram ({cause})") from None
