"""Telegram failures become words on both runtimes: no URL (so no bot token) in what is stored, shown, chained
or logged."""

import traceback
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp
import httpx
import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramNotFound
from aiogram.methods import GetFile, SendMessage
from multidict import CIMultiDict, CIMultiDictProxy
from telegram.error import BadRequest, NetworkError, TimedOut
from yarl import URL

from bot.aiogram_runtime.messenger import AiogramMessenger
from bot.aiogram_runtime.messenger import TelegramUnreachable as AiogramUnreachable
from bot.aiogram_runtime.render import AiogramFiles
from bot.ptb_runtime.errors import TelegramUnreachable as PtbUnreachable
from bot.ptb_runtime.messenger import PtbMessenger
from bot.ptb_runtime.render import PtbFiles
from handlers.ports import FileUnavailable

TOKEN = "123456:unit-test-secret-token"
FILE_URL = f"http://127.0.0.1:8081/file/bot{TOKEN}/photos/file_1.jpg"
BAD_FILE_URL = f"http://[::1/file/bot{TOKEN}/photos/file_1.jpg"  # no closing bracket: not a URL


def http_error(status: int) -> aiohttp.ClientResponseError:
    """What aiohttp raises for an HTTP error on the file URL (aiogram downloads with raise_for_status)."""
    request = aiohttp.RequestInfo(URL(FILE_URL), "GET", CIMultiDictProxy(CIMultiDict()), URL(FILE_URL))
    return aiohttp.ClientResponseError(request, (), status=status, message="Not Found")


class FailingBot:
    """A bot whose getFile or download fails the way aiogram and aiohttp fail (or, for PTB, whose getFile
    fails the way PTB fails, or hands out `file_path`)."""

    def __init__(self, error: Exception | None = None, *, on_get_file=False,
                 file_path: str | None = FILE_URL):
        self.error, self.on_get_file, self.file_path = error, on_get_file, file_path

    async def get_file(self, file_id: str):
        if self.on_get_file:
            raise self.error
        return SimpleNamespace(file_path=self.file_path, file_size=None)

    async def download_file(self, file_path: str, destination) -> None:
        raise self.error

    async def send_message(self, *args, **kwargs):
        raise self.error


def aiogram_network_error(method) -> TelegramNetworkError:
    """aiogram's network error, chained to aiohttp's, whose text holds the URL."""
    try:
        try:
            raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {FILE_URL}")
        except aiohttp.ClientError as cause:
            raise TelegramNetworkError(method=method, message=f"{type(cause).__name__}: {cause}") from cause
    except TelegramNetworkError as error:
        return error


def ptb_network_error(cause: httpx.HTTPError) -> NetworkError:
    """PTB's network error as its HTTPXRequest raises it: chained to httpx's, whose text holds the URL."""
    try:
        try:
            raise cause
        except httpx.TimeoutException as timeout:
            raise TimedOut from timeout
        except httpx.HTTPError as other:
            raise NetworkError(f"httpx.{type(other).__name__}: {other}") from other
    except NetworkError as error:
        return error


def answering(status: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, text=f"error at {request.url}")


def raising(error: type[httpx.TransportError], words: str) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise error(f"{words} {request.url}", request=request)

    return respond


def ptb_files(bot: FailingBot, respond: Callable[[httpx.Request], httpx.Response] | None = None) -> PtbFiles:
    """PTB's downloader; its own HTTP client's transport answers (or fails) as `respond` says."""
    files = PtbFiles(bot)
    files._http = httpx.AsyncClient(transport=httpx.MockTransport(respond or answering(200)))
    return files


def printed(error: BaseException) -> str:
    """The traceback a log.exception would print."""
    return "".join(traceback.format_exception(error))


# The same failures on both runtimes; where the words name the HTTP library's or framework's own error, each
# runtime names its own.
DOWNLOAD_FAILURES = {
    "404": (lambda: AiogramFiles(FailingBot(http_error(404))),
            lambda: ptb_files(FailingBot(), answering(404)),
            "file download failed: HTTP 404"),
    "500": (lambda: AiogramFiles(FailingBot(http_error(500))),
            lambda: ptb_files(FailingBot(), answering(500)),
            "file download failed: HTTP 500"),
    "timeout": (lambda: AiogramFiles(FailingBot(aiohttp.ConnectionTimeoutError(f"timeout to {FILE_URL}"))),
                lambda: ptb_files(FailingBot(), raising(httpx.ReadTimeout, "timed out reading")),
                "file download failed: timed out"),
    "invalid url": (lambda: AiogramFiles(FailingBot(aiohttp.InvalidURL(FILE_URL))),
                    lambda: ptb_files(FailingBot(file_path=BAD_FILE_URL)),
                    "file download failed: InvalidURL"),
    "reset": (lambda: AiogramFiles(FailingBot(ConnectionResetError(104, FILE_URL))),
              lambda: ptb_files(FailingBot(), raising(httpx.ReadError, "connection reset by peer")),
              ("file download failed: ConnectionResetError", "file download failed: ReadError")),
    "getFile network": (
        lambda: AiogramFiles(FailingBot(aiogram_network_error(GetFile(file_id="f")), on_get_file=True)),
        lambda: ptb_files(FailingBot(ptb_network_error(httpx.ConnectError(f"refused {FILE_URL}")),
                                     on_get_file=True)),
        "file download failed: network error on getFile"),
    "getFile timeout": (
        lambda: AiogramFiles(FailingBot(aiogram_network_error(GetFile(file_id="f")), on_get_file=True)),
        lambda: ptb_files(FailingBot(ptb_network_error(httpx.ConnectTimeout(f"timeout {FILE_URL}")),
                                     on_get_file=True)),
        "file download failed: network error on getFile"),
    "getFile refused": (
        lambda: AiogramFiles(FailingBot(TelegramNotFound(GetFile(file_id="f"), f"Not Found: {FILE_URL}"),
                                        on_get_file=True)),
        lambda: ptb_files(FailingBot(BadRequest(f"Bad Request: invalid file_id at {FILE_URL}"),
                                     on_get_file=True)),
        ("file download failed: getFile refused (TelegramNotFound)",
         "file download failed: getFile refused (BadRequest)")),
    "no path": (lambda: AiogramFiles(FailingBot(file_path=None)),
                lambda: ptb_files(FailingBot(file_path=None)),
                "file download failed: Telegram gave no file path (too big)"),
}


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
@pytest.mark.parametrize("failure", DOWNLOAD_FAILURES)
async def test_every_download_failure_becomes_words_without_the_url(runtime, failure):
    aiogram_files, ptb_files_of, words = DOWNLOAD_FAILURES[failure]
    files = aiogram_files() if runtime == "aiogram" else ptb_files_of()
    if isinstance(words, tuple):
        words = words[0] if runtime == "aiogram" else words[1]
    try:
        with pytest.raises(FileUnavailable) as raised:
            await files.download("file-id")
    finally:
        if isinstance(files, PtbFiles):
            await files.close()
    assert str(raised.value) == words
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert TOKEN not in printed(raised.value)


@pytest.mark.parametrize(
    ("messenger", "unreachable", "cause"),
    [
        (lambda: AiogramMessenger(FailingBot(aiogram_network_error(SendMessage(chat_id=1, text="hi")))),
         AiogramUnreachable, "ConnectionTimeoutError"),
        (lambda: PtbMessenger(FailingBot(ptb_network_error(httpx.ConnectTimeout(f"timeout {FILE_URL}")))),
         PtbUnreachable, "ConnectTimeout"),
        (lambda: PtbMessenger(FailingBot(ptb_network_error(httpx.ConnectError(f"refused {FILE_URL}")))),
         PtbUnreachable, "ConnectError"),
    ],
    ids=["aiogram", "ptb-timeout", "ptb-refused"],
)
async def test_a_network_error_while_sending_becomes_words_without_the_url(messenger, unreachable, cause):
    with pytest.raises(unreachable) as raised:
        await messenger().send(1, "hi", ())
    assert str(raised.value) == f"network error talking to Telegram ({cause})"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert TOKEN not in printed(raised.value)
