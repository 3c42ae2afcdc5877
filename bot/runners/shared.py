"""What every runner does around its framework: the command menu, the support group's topics, the ticker,
429 retries of direct replies, and draining the updates in hand at shutdown."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from apscheduler.triggers.cron import CronTrigger

from bot.in_flight import InFlight
from bot.scheduler import Ticker
from bot.wiring import Services
from handlers.merchant.delivery import BroadcastStarter
from handlers.merchant.progress import BroadcastProgress
from handlers.ports import Messenger, RetryAfter
from handlers.support.cards import SupportSettings
from handlers.texts import Texts
from locales import LANGUAGES

log = logging.getLogger(__name__)
MENU_COMMANDS = ("report", "status", "help", "language", "cancel")
DEFAULT_MENU_LANGUAGE = "en"  # the menu of everyone whose language has no menu of its own
SHUTDOWN_GRACE_SECONDS = 5
SEND_ATTEMPTS = 3
T = TypeVar("T")


class ChatUnreachable(Exception):
    """The bot cannot see the chat (not a member, or the chat does not exist)."""


class TelegramShell(Protocol):
    """The few Bot API calls the shared start-up makes, each runtime in its framework's words."""

    async def set_command_menu(self, commands: list[tuple[str, str]], language: str | None) -> None:
        """setMyCommands for one language (None: everyone else)."""
        ...

    async def is_forum(self, chat_id: int) -> bool:
        """Whether the group has topics; ChatUnreachable if the bot cannot see it."""
        ...


def command_menu(texts: Texts, language: str) -> list[tuple[str, str]]:
    """The command menu (command, description) in one language, from the catalogs."""
    return [(command, texts.get(language, f"command_menu.{command}")) for command in MENU_COMMANDS]


async def announce_commands(shell: TelegramShell, texts: Texts) -> None:
    """Set the command menu in every language; the default language's is everyone else's."""
    for language in LANGUAGES:
        code = None if language == DEFAULT_MENU_LANGUAGE else language
        await shell.set_command_menu(command_menu(texts, language), code)


async def detect_topics(shell: TelegramShell, support: SupportSettings) -> None:
    """Find out whether the support group has topics (each ticket then gets its own)."""
    if support.chat_id is None:
        return
    try:
        support.topics = await shell.is_forum(support.chat_id)
    except ChatUnreachable as error:
        log.warning("support group %s is not reachable (%s); cards go nowhere until it is",
                    support.chat_id, error)
        support.topics = False


def build_ticker(services: Services, messenger: Messenger) -> Ticker:
    """The sweeps, the outbox drain, the pruning, the screenshot clean-up and the broadcasts, sending
    through `messenger`."""
    settings = services.settings
    delivery = services.delivery(messenger)
    db, texts, clock, locale = services.db, services.texts, services.clock, settings.default_locale
    starter = BroadcastStarter(db, texts, clock, locale, paid=settings.broadcast_paid)
    progress = BroadcastProgress(db, messenger, texts, clock, locale, pace=delivery.wait_turn)
    weekly = None
    if settings.weekly_tip:
        weekly = CronTrigger.from_crontab(settings.weekly_tip, timezone=settings.zone)
    return Ticker(
        services.follow_ups(),
        delivery,
        settings.sweep_interval,
        services.support_desk(),
        pruner=services.pruner(),
        evidence_gc=services.evidence_collector(),
        broadcasts=starter,
        progress=progress,
        weekly_tip=weekly,
    )


async def start_up(services: Services, shell: TelegramShell, ticker: Ticker | None) -> None:
    """Once connected: the command menu, the support group's topics, then the ticker."""
    await announce_commands(shell, services.texts)
    await detect_topics(shell, services.support_settings())
    if ticker:
        ticker.start()


async def shut_down(ticker: Ticker | None, in_flight: InFlight) -> None:
    """Stop ticking, then let the updates in hand finish: Telegram will not deliver them again, and each
    step in them is bounded (429 waits, the download deadline, HTTP timeouts)."""
    if ticker and not await ticker.stop():
        log.warning("stopped with a scheduled job still running")
    if not await in_flight.drained(SHUTDOWN_GRACE_SECONDS):
        log.warning("still finishing the updates in hand")
        await in_flight.drained(None)


class SharedPause(Protocol):
    """The 429 pause every instance of the bot keeps to (RATE_LIMIT_URL's gate)."""

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends for `seconds`."""
        ...

    async def paused_for(self) -> float:
        """Seconds left of the current pause (0 when none)."""
        ...


async def with_retry(
    send: Callable[[], Awaitable[T]], *, attempts: int = SEND_ATTEMPTS,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep, shared: SharedPause | None = None,
) -> T:
    """Send a direct reply, waiting out Telegram's 429s (RetryAfter) up to `attempts` tries in all; with
    `shared`, a pause another instance reported first, and this one's 429 reported to all."""
    for attempt in range(1, attempts + 1):
        if shared is not None and (left := await shared.paused_for()) > 0:
            await sleep(left)
        try:
            return await send()
        except RetryAfter as error:  # a reply to what the person just did is worth waiting for
            if shared is not None:
                await shared.pause(error.seconds)
            if attempt == attempts:
                raise
            await sleep(error.seconds)
    raise ValueError(f"at least one attempt is needed, not {attempts}")
