"""A local stand-in for the Telegram Bot API, for end-to-end tests, benchmarks and demos."""

from telegram_sandbox.client import SandboxClient, SandboxError, button_data, buttons
from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox

__all__ = [
    "RateLimits",
    "SandboxClient",
    "SandboxError",
    "TelegramSandbox",
    "button_data",
    "buttons",
]
