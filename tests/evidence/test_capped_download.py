"""Both runtimes' downloaders never buffer more than their cap, whatever size the file claims."""

import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import telegram

from bot.aiogram_runtime.render import AiogramFiles
from bot.ptb_runtime.render import PtbFiles
from handlers.ports import FileTooLarge
from telegram_sandbox.client import SandboxClient
from telegram_sandbox.server import TelegramSandbox
from tests.sandbox.helpers import aiogram_bot

CAP = 1000
TOKEN = "123456:capped-download-token"
FILE_URL = "http://127.0.0.1:8081/file/botTOKEN/photos/file_1.jpg"


class FakeBot:
    """getFile states `declared` bytes; the download then streams `chunks` (through aiogram's download_file,
    or through the HTTP client PTB's downloader opens)."""

    def __init__(self, declared: int | None, chunks: list[bytes]):
        self.declared, self.chunks = declared, chunks
        self.streamed = 0

    async def get_file(self, file_id: str):
        return SimpleNamespace(file_path=FILE_URL, file_size=self.declared)

    async def download_file(self, file_path: str, destination) -> None:
        for chunk in self.chunks:
            destination.write(chunk)
            self.streamed += len(chunk)

    async def stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
            self.streamed += len(chunk)  # the downloader took it and asked for more


@contextlib.asynccontextmanager
async def downloader(runtime: str, bot: FakeBot) -> AsyncIterator[AiogramFiles | PtbFiles]:
    """The runtime's downloader, capped at CAP, over the fake bot."""
    if runtime == "aiogram":
        yield AiogramFiles(bot, max_bytes=CAP)
        return
    files = PtbFiles(bot, max_bytes=CAP)
    answer = httpx.MockTransport(lambda request: httpx.Response(200, content=bot.stream()))
    files._http = httpx.AsyncClient(transport=answer)  # PTB's downloader streams through its own client
    try:
        yield files
    finally:
        await files.close()


@pytest.fixture(params=["aiogram", "ptb"])
def runtime(request) -> str:
    return request.param


async def test_a_file_within_the_cap_is_returned_whole(runtime):
    bot = FakeBot(declared=CAP, chunks=[b"a" * 600, b"b" * 400])
    async with downloader(runtime, bot) as files:
        assert await files.download("id") == b"a" * 600 + b"b" * 400


async def test_a_file_declared_too_large_is_not_downloaded(runtime):
    bot = FakeBot(declared=CAP + 1, chunks=[b"x" * 10])
    async with downloader(runtime, bot) as files:
        with pytest.raises(FileTooLarge):
            await files.download("id")
    assert bot.streamed == 0


@pytest.mark.parametrize("declared", [10, None])
async def test_a_file_larger_than_it_said_is_stopped_at_the_cap(runtime, declared):
    bot = FakeBot(declared=declared, chunks=[b"x" * 400] * 50)  # 20 kB behind a claim of 10 bytes
    async with downloader(runtime, bot) as files:
        with pytest.raises(FileTooLarge):
            await files.download("id")
    assert bot.streamed <= CAP


async def test_over_real_http_a_file_bigger_than_getfile_says_is_refused(runtime):
    async with TelegramSandbox(token=TOKEN) as sandbox, SandboxClient(sandbox.url) as client:
        await client.create_user(7)
        small = await client.send_document(7, b"y" * 800, "ok.jpg", "image/jpeg")
        big = await client.send_document(7, b"x" * 20_000, "big.jpg", "image/jpeg", declared_file_size=10)
        small_id, big_id = (sent["message"]["document"]["file_id"] for sent in (small, big))
        if runtime == "aiogram":
            bot = aiogram_bot(sandbox.url, TOKEN)
            async with bot.session:
                files = AiogramFiles(bot, max_bytes=CAP)
                assert await files.download(small_id) == b"y" * 800
                with pytest.raises(FileTooLarge):
                    await files.download(big_id)
        else:
            url = sandbox.url
            async with telegram.Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as bot:
                files = PtbFiles(bot, max_bytes=CAP)
                try:
                    assert await files.download(small_id) == b"y" * 800
                    with pytest.raises(FileTooLarge):
                        await files.download(big_id)
                finally:
                    await files.close()
