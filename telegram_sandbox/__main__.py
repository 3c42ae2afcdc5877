"""Run the sandbox: python -m telegram_sandbox --port 8081 --token 123:abc"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from telegram_sandbox.rate_limits import RateLimits
from telegram_sandbox.server import TelegramSandbox


async def serve(
    host: str, port: int, token: str, username: str, rate_limits: bool, first_name: str = "Sandbox Bot"
) -> None:
    """Serve until cancelled."""
    sandbox = TelegramSandbox(
        token=token,
        bot_username=username,
        bot_first_name=first_name,
        rate_limits=RateLimits() if rate_limits else None,
    )
    url = await sandbox.start(host, port)
    print(f"Telegram sandbox serving {url}  (bot API: {url}/bot{token}/getMe)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main() -> None:
    """Parse arguments and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Local stand-in for the Telegram Bot API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:sandbox-token")
    parser.add_argument("--username", default="sandbox_bot", help="the bot's @username")
    parser.add_argument("--first-name", default="Sandbox Bot", help="the bot's display name")
    parser.add_argument("--rate-limits", action="store_true", help="enforce Telegram's limits")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(args.host, args.port, args.token, args.username, args.rate_limits, args.first_name)
        )


if __name__ == "__main__":
    main()
