"""Attacks on the python-telegram-bot runtime's parts, against the sandbox over HTTP (and, for downloads that
misbehave in ways Telegram's file server might, a raw socket server)."""

import asyncio
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace

import pytest
import telegram
from aiogram import types as aiogram_types
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.aiogram_runtime import translate as aiogram_translate
from bot.config import load_settings
from bot.ptb_runtime import render as ptb_render
from bot.ptb_runtime import translate as ptb_translate
from bot.ptb_runtime.app import make_application
from bot.ptb_runtime.embedding import add_refund_handlers
from bot.ptb_runtime.handlers import Route, route_of
from bot.ptb_runtime.messenger import PtbMessenger
from bot.ptb_runtime.render import PtbFiles
from bot.runners.embedded import Turns
from handlers.ports import FileTooLarge, FileUnavailable, RetryAfter
from telegram_sandbox.client import SandboxClient
from tests.conftest import migrated_sqlite_file

TOKEN = "424242:ptb-attack-secret-token"
SECRET_PART = TOKEN.split(":", 1)[1]
PAYER = 3003


@pytest.fixture
def sandbox_token() -> str:
    return TOKEN


@pytest.fixture
async def client(client: SandboxClient) -> SandboxClient:
    await client.create_user(PAYER, first_name="Pat")
    return client


def ptb_bot(api: str, files: str | None = None) -> Bot:
    """A PTB Bot calling the Bot API at `api` and fetching files from `files` (default: the same server)."""
    return Bot(TOKEN, base_url=f"{api}/bot", base_file_url=f"{files or api}/file/bot")


@pytest.fixture
async def bot(sandbox) -> AsyncIterator[Bot]:
    async with ptb_bot(sandbox.url) as made:
        yield made


async def sent_document(client: SandboxClient, data: bytes, declared: int | None = None) -> str:
    """The file_id of a document the payer sent (its size as getFile will state it: `declared`)."""
    sent = await client.send_document(PAYER, data, "shot.png", "image/png", declared_file_size=declared)
    return sent["message"]["document"]["file_id"]


Respond = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def file_server(respond: Respond) -> tuple[asyncio.Server, str]:
    """A raw HTTP server standing in for Telegram's file server; returns it and its base URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await respond(reader, writer)
        except ConnectionError:
            pass  # the downloader hung up
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def downloaded_from(sandbox, client, respond: Respond, **files_options) -> bytes:
    """PtbFiles.download of a document the payer sent, whose bytes come from `respond` instead."""
    file_id = await sent_document(client, b"x" * 100)
    server, files_url = await file_server(respond)
    try:
        async with ptb_bot(sandbox.url, files_url) as bot:
            files = PtbFiles(bot, **files_options)
            try:
                return await files.download(file_id)
            finally:
                await files.close()
    finally:
        server.close()


def assert_in_words(error: BaseException) -> None:
    """No URL, so no token, in the error, its chain or its context."""
    seen: BaseException | None = error
    while seen is not None:
        assert SECRET_PART not in str(seen) and "/file/bot" not in str(seen)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


# --- downloads -------------------------------------------------------------------------------------------


async def test_a_body_larger_than_getfile_states_is_cut_at_the_cap(bot, client):
    file_id = await sent_document(client, b"\x89PNG" + b"x" * 5000, declared=100)  # getFile says 100 bytes
    files = PtbFiles(bot, max_bytes=1000)
    try:
        with pytest.raises(FileTooLarge) as refused:
            await files.download(file_id)
    finally:
        await files.close()
    assert "more than 1000 bytes" in str(refused.value)


async def test_a_body_the_size_getfile_states_passes(bot, client):
    file_id = await sent_document(client, b"y" * 1000)
    files = PtbFiles(bot, max_bytes=1000)
    try:
        assert await files.download(file_id) == b"y" * 1000
    finally:
        await files.close()


async def test_a_download_cut_midway_is_unavailable_in_words(sandbox, client):
    async def cut(reader, writer) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"z" * 100)
        await writer.drain()

    with pytest.raises(FileUnavailable) as failed:
        await downloaded_from(sandbox, client, cut)
    assert str(failed.value) == "file download failed: RemoteProtocolError"
    assert_in_words(failed.value)


async def test_a_stalled_download_times_out(sandbox, client, monkeypatch):
    monkeypatch.setattr(ptb_render, "DOWNLOAD_TIMEOUT", ptb_render.httpx.Timeout(0.3))

    async def stall(reader, writer) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"z" * 100)
        await writer.drain()
        await reader.read()  # until the downloader hangs up

    with pytest.raises(FileUnavailable) as failed:
        await asyncio.wait_for(downloaded_from(sandbox, client, stall), 3)
    assert str(failed.value) == "file download failed: timed out"
    assert_in_words(failed.value)


async def test_a_trickling_download_is_given_up_at_its_deadline(sandbox, client, monkeypatch):
    """A byte now and then never trips a read timeout; the whole download still has a deadline."""
    monkeypatch.setattr(ptb_render, "DOWNLOAD_TIMEOUT", ptb_render.httpx.Timeout(0.5))
    monkeypatch.setattr(ptb_render, "DOWNLOAD_DEADLINE", 1.0, raising=False)

    async def trickle(reader, writer) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
        while not reader.at_eof():  # until the downloader hangs up
            writer.write(b"t")
            await writer.drain()
            await asyncio.sleep(0.2)

    with pytest.raises(FileUnavailable) as failed:
        await asyncio.wait_for(downloaded_from(sandbox, client, trickle), 4)
    assert str(failed.value) == "file download failed: timed out"


@pytest.mark.parametrize("status", [404, 500])
async def test_a_refused_download_is_unavailable_in_words(bot, client, status):
    file_id = await sent_document(client, b"w" * 100)
    await client.inject_fault("download", error_code=status)
    files = PtbFiles(bot)
    try:
        with pytest.raises(FileUnavailable) as failed:
            await files.download(file_id)
    finally:
        await files.close()
    assert str(failed.value) == f"file download failed: HTTP {status}"
    assert_in_words(failed.value)


# --- 429s ------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own, unset or false
@pytest.mark.parametrize("ptb_timedelta", [None, "true", "false"])
async def test_a_429_is_read_in_seconds_whatever_ptb_timedelta_says(bot, client, monkeypatch, ptb_timedelta):
    """Unset in a merchant's own process (the embedding), set by `refund-bot run`."""
    if ptb_timedelta is None:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    else:
        monkeypatch.setenv("PTB_TIMEDELTA", ptb_timedelta)
    await client.inject_fault("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as refused:
        await PtbMessenger(bot).send(PAYER, "hello", ())
    assert refused.value.seconds == 7.0


async def test_the_runner_s_setting_reads_a_429_without_a_deprecation_warning(bot, client, monkeypatch):
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    make_application(SimpleNamespace(settings=load_settings(bot_token=TOKEN, telegram_api_base=bot.base_url)))
    await client.inject_fault("sendMessage", error_code=429, retry_after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RetryAfter):
            await PtbMessenger(bot).send(PAYER, "hello", ())


# --- the embedding in a merchant's own Application -------------------------------------------------------


async def embedded_settings(sandbox, tmp_path):
    path = await migrated_sqlite_file(tmp_path / "data" / "bot.sqlite3")
    return load_settings(bot_token=TOKEN, telegram_api_base=sandbox.url, data_dir=tmp_path / "data",
                         database_url=f"sqlite+aiosqlite:///{path}", quiet_hours="off")


def merchant_application(sandbox, **hooks) -> Application:
    builder = ApplicationBuilder().token(TOKEN).base_url(f"{sandbox.url}/bot")
    builder = builder.base_file_url(f"{sandbox.url}/file/bot").concurrent_updates(8)
    for name, hook in hooks.items():
        builder = getattr(builder, name)(hook)
    return builder.build()


def run_polling_in_a_thread(application: Application) -> Awaitable[None]:
    """run_polling, as a merchant's program calls it, in a thread with its own event loop."""
    return asyncio.to_thread(application.run_polling, stop_signals=None)


async def test_the_merchant_s_hooks_run_around_the_refund_bot(sandbox, tmp_path):
    seen: list[str] = []

    async def merchant_init(app: Application) -> None:
        seen.append("merchant init")
        asyncio.get_running_loop().call_later(0.5, app.stop_running)

    async def merchant_stop(app: Application) -> None:
        seen.append(f"merchant stop, refund bot open: {refund.refund.services is not None}")

    application = merchant_application(sandbox, post_init=merchant_init, post_stop=merchant_stop)
    refund = add_refund_handlers(application, await embedded_settings(sandbox, tmp_path))
    await asyncio.wait_for(run_polling_in_a_thread(application), 15)
    assert seen == ["merchant init", "merchant stop, refund bot open: False"]
    assert refund.refund.services is None and refund.refund.ticker is None


async def test_a_merchant_s_post_init_that_stops_the_application_leaves_nothing_open(sandbox, tmp_path):
    """PTB's documented early exit: stop_running() in post_init. PTB then calls no post_stop."""

    async def give_up_early(app: Application) -> None:
        app.stop_running()

    application = merchant_application(sandbox, post_init=give_up_early)
    refund = add_refund_handlers(application, await embedded_settings(sandbox, tmp_path))
    await asyncio.wait_for(run_polling_in_a_thread(application), 15)
    assert refund.refund.services is None, "the refund bot's database was left open"
    assert refund.refund.ticker is None, "the refund bot's ticker was left running"


# --- updates the PTB handler meets ------------------------------------------------------------------------

ANN = {"id": 1001, "is_bot": False, "first_name": "Ann"}
PRIVATE = {"id": 1001, "type": "private", "first_name": "Ann"}
SUPPORT = {"id": -100777, "type": "supergroup", "title": "Support"}
LOCATION = {"latitude": 31.2, "longitude": 121.5}


def message(**fields) -> dict:
    return {"message_id": 9, "date": 1_700_000_000, "chat": PRIVATE, "from": ANN, **fields}


@pytest.mark.parametrize("data", [
    message(venue={"location": LOCATION, "title": "Shop", "address": "Nanjing Rd"}, location=LOCATION),
    message(animation={"file_id": "a", "file_unique_id": "a", "width": 1, "height": 1, "duration": 1},
            document={"file_id": "a", "file_unique_id": "a"}),
    message(chat=SUPPORT, from_={"id": 1087968824, "is_bot": True, "first_name": "Group",
                                 "username": "GroupAnonymousBot"}, sender_chat=SUPPORT, text="/queue",
            entities=[{"type": "bot_command", "offset": 0, "length": 6}]),
], ids=["a venue (it carries a location too)", "a GIF (it carries a document too)",
        "an anonymous admin in the support group"])
def test_a_message_of_two_kinds_makes_the_same_event_on_both_runtimes(data):
    data = {("from" if key == "from_" else key): value for key, value in data.items()}
    made_by_aiogram = aiogram_translate.event_from_message(aiogram_types.Message.model_validate(data), 5)
    made_by_ptb = ptb_translate.event_from_message(telegram.Message.de_json(data, None), 5)
    assert made_by_ptb == made_by_aiogram


def test_a_press_on_a_message_too_old_to_show_makes_the_same_event_and_route():
    """Telegram sends an InaccessibleMessage (date 0) for a button on a message older than 48 hours."""
    data = {"id": "q", "from": ANN, "chat_instance": "ci", "data": "rpt:k:submit",
            "message": {"message_id": 5, "date": 0, "chat": PRIVATE}}
    made_by_ptb = ptb_translate.event_from_callback(telegram.CallbackQuery.de_json(data, None), 2)
    aiogram_query = aiogram_types.CallbackQuery.model_validate(data)
    assert made_by_ptb == aiogram_translate.event_from_callback(aiogram_query, 2)
    update = telegram.Update.de_json({"update_id": 2, "callback_query": data}, None)
    assert route_of(update, SUPPORT["id"]) is Route.PAYER_BUTTON


async def test_turns_keep_each_chat_s_order_let_other_chats_pass_and_forget_finished_chats():
    turns, done = Turns(), []

    async def update(name: str, chat: int, seconds: float) -> None:
        async with turns(chat, 1):
            await asyncio.sleep(seconds)
            done.append(name)

    # the first of chat 7 takes longest, chat 8's one update does not wait for chat 7's
    await asyncio.gather(update("7a", 7, 0.05), update("7b", 7, 0.01), update("7c", 7, 0), update("8", 8, 0))
    assert done == ["8", "7a", "7b", "7c"]
    assert turns._locks == {}, "a lock per chat ever seen would grow for as long as the bot runs"
