"""The aiogram downloader never buffers more than its cap, whatever size the file claims."""

from types import SimpleNamespace

import pytest

from bot.aiogram_runtime.render import AiogramFiles
from handlers.ports import FileTooLarge

CAP = 1000


class FakeBot:
    """getFile states `declared` bytes; the download then streams `chunks`."""

    def __init__(self, declared: int | None, chunks: list[bytes]):
        self.declared, self.chunks = declared, chunks
        self.streamed = 0

    async def get_file(self, file_id: str):
        return SimpleNamespace(file_path="photos/file_1.jpg", file_size=self.declared)

    async def download_file(self, file_path: str, destination) -> None:
        for chunk in self.chunks:
            destination.write(chunk)
            self.streamed += len(chunk)


async def test_a_file_within_the_cap_is_returned_whole():
    bot = FakeBot(declared=CAP, chunks=[b"a" * 600, b"b" * 400])
    assert await AiogramFiles(bot, max_bytes=CAP).download("id") == b"a" * 600 + b"b" * 400


async def test_a_file_declared_too_large_is_not_downloaded():
    bot = FakeBot(declared=CAP + 1, chunks=[b"x" * 10])
    with pytest.raises(FileTooLarge):
        await AiogramFiles(bot, max_bytes=CAP).download("id")
    assert bot.streamed == 0


@pytest.mark.parametrize("declared", [10, None])
async def test_a_file_larger_than_it_said_is_stopped_at_the_cap(declared):
    bot = FakeBot(declared=declared, chunks=[b"x" * 400] * 50)  # 20 kB behind a claim of 10 bytes
    with pytest.raises(FileTooLarge):
        await AiogramFiles(bot, max_bytes=CAP).download("id")
    assert bot.streamed <= CAP
