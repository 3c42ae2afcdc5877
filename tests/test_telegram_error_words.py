"""Telegram failures become words: no URL (so no bot token) in what is stored, shown, chained or logged."""

import traceback
from types import SimpleNamespace

import aiohttp
import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramNotFound
from aiogram.methods import GetFile, SendMessage
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.aiogram_runtime.messenger import AiogramMessenger, TelegramUnreachable
from bot.aiogram_runtime.render import AiogramFiles
from handlers.ports import FileUnavailable

TOKEN = "123456:unit-test-secret-token"
FILE_URL = f"http://127.0.0.1:8081/file/bot{TOKEN}/photos/file_1.jpg"


def http_error(status: int) -> aiohttp.ClientResponseError:
    """What aiohttp raises for an HTTP error on the file URL (aiogram downloads with raise_for_status)."""
    request = aiohttp.RequestInfo(URL(FILE_URL), "GET", CIMultiDictProxy(CIMultiDict()), URL(FILE_URL))
    return aiohttp.ClientResponseError(request, (), status=status, message="Not Found")


class FailingBot:
    """A bot whose getFile or download fails the way aiogram and aiohttp fail."""

    def __init__(self, error: Exception | None = None, *, on_get_file=False, file_path: str | None = "p"):
        self.error, self.on_get_file, self.file_path = error, on_get_file, file_path

    async def get_file(self, file_id: str):
        if self.on_get_file:
            raise self.error
        return SimpleNamespace(file_path=self.file_path, file_size=None)

    async def download_file(self, file_path: str, destination) -> None:
        raise self.error

    async def send_message(self, *args, **kwargs):
        raise self.error


def network_error(method) -> TelegramNetworkError:
    """aiogram's network error, chained to aiohttp's, whose text holds the URL."""
    try:
        try:
            raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {FILE_URL}")
        except aiohttp.ClientError as cause:
            raise TelegramNetworkError(method=method, message=f"{type(cause).__name__}: {cause}") from cause
    except TelegramNetworkError as error:
        return error


def printed(error: BaseException) -> str:
    """The traceback a log.exception would print."""
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize(
    ("bot", "words"),
    [
        (FailingBot(http_error(404)), "file download failed: HTTP 404"),
        (FailingBot(http_error(500)), "file download failed: HTTP 500"),
        (FailingBot(aiohttp.ConnectionTimeoutError(f"Connection timeout to host {FILE_URL}")),
         "file download failed: timed out"),
        (FailingBot(aiohttp.InvalidURL(FILE_URL)), "file download failed: InvalidURL"),
        (FailingBot(ConnectionResetError(104, FILE_URL)), "file download failed: ConnectionResetError"),
        (FailingBot(network_error(GetFile(file_id="f")), on_get_file=True),
         "file download failed: network error on getFile"),
        (FailingBot(TelegramNotFound(GetFile(file_id="f"), f"Not Found: {FILE_URL}"), on_get_file=True),
         "file download failed: getFile refused (TelegramNotFound)"),
        (FailingBot(file_path=None), "file download failed: Telegram gave no file path (too big)"),
    ],
)
async def test_every_download_failure_becomes_words_without_the_url(bot, words):
    with pytest.raises(FileUnavailable) as raised:
        await AiogramFiles(bot).download("file-id")
    assert str(raised.value) == words
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert TOKEN not in printed(raised.value)


async def test_a_network_error_while_sending_becomes_words_without_the_url():
    messenger = AiogramMessenger(FailingBot(network_error(SendMessage(chat_id=1, text="hi"))))
    with pytest.raises(TelegramUnreachable) as raised:
        await messenger.send(1, "hi", ())
    assert str(raised.value) == "network error talking to Telegram (ConnectionTimeoutError)"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert TOKEN not in printed(raised.value)
