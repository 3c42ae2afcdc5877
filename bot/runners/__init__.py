"""Runners serve Telegram updates through one framework each; `refund-bot run` picks one by BOT_RUNTIME."""

from collections.abc import Callable
from typing import Protocol

from bot.wiring import Services


class Runner(Protocol):
    """One framework's loop: it translates updates into Events and Replies back, and nothing more."""

    async def run(self, *, handle_signals: bool = True) -> None:
        """Serve updates until SIGTERM/SIGINT (or `stop()`), draining the updates in hand on the way out."""
        ...

    async def stop(self) -> None:
        """Stop serving from inside the process."""
        ...

    async def drain(self, timeout: float) -> bool:
        """Wait for the updates in hand; False if some were still running at the timeout."""
        ...


RunnerFactory = Callable[[Services], Runner]


class RunnerUnavailable(LookupError):
    """BOT_RUNTIME names a runtime that has no runner yet."""


def _aiogram(services: Services) -> Runner:
    # Imported on demand: each runtime loads its own framework, and only when it runs.
    from bot.aiogram_runtime.app import AiogramRunner

    return AiogramRunner(services)


def _ptb(services: Services) -> Runner:
    from bot.ptb_runtime.app import PtbRunner

    return PtbRunner(services)


RUNNERS: dict[str, RunnerFactory] = {"aiogram": _aiogram, "ptb": _ptb}


def runner_factory(runtime: str) -> RunnerFactory:
    """The runner of `runtime`; RunnerUnavailable, in words naming the setting, if there is none yet."""
    factory = RUNNERS.get(runtime)
    if factory is None:
        available = ", ".join(sorted(RUNNERS))
        raise RunnerUnavailable(f"BOT_RUNTIME={runtime} is not available yet; use {available}")
    return factory
