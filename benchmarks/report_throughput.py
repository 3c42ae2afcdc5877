"""Full report conversations through the sandbox: 200 concurrent payers, the bot vs a bare echo bot.

Run: .venv/bin/python -m benchmarks.report_throughput [--payers 200] [--postgres]
The sandbox and the simulated payers run in this process; the bot under test runs as its own
process (`refund-bot run`, then `python -m benchmarks.echo_bot` as the floor), so both are measured
the same way. Each payer sends /report, order number, amount, time, a photo, then taps Submit, and
waits for the bot's answer before the next step: 6 updates per payer.
"""

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from telegram_sandbox.client import SandboxClient, button_data
from telegram_sandbox.server import TelegramSandbox

TOKEN = "777000:benchmark-token"
STEPS = 6


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 640), (30, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def one_payer(client: SandboxClient, user_id: int, image: bytes, echo: bool,
                    latencies: list[float]) -> None:
    await client.create_user(user_id, first_name=f"P{user_id}")

    async def step(send) -> dict:
        started = time.perf_counter()
        sent = await send()
        message_id = sent["message"]["message_id"] if "message" in sent else last_id[0]
        [reply] = (await client.wait_for_bot_messages(user_id, after_message_id=message_id, count=1,
                                                      timeout=120))[-1:]
        latencies.append(time.perf_counter() - started)
        last_id[0] = reply["message_id"]
        return reply

    last_id = [0]
    order = f"ORD{user_id}"
    await step(lambda: client.send_text(user_id, "/report"))
    await step(lambda: client.send_text(user_id, order))
    await step(lambda: client.send_text(user_id, "99.00"))
    await step(lambda: client.send_text(user_id, "today 00:01"))
    review = await step(lambda: client.send_photo(user_id, image))
    data = "submit" if echo else button_data(review, "Submit")
    reply = await step(lambda: client.press(user_id, review["message_id"], data, forge=echo))
    if not echo:
        assert "RF-" in reply["text"], reply["text"]


async def drive(url: str, payers: int, echo: bool) -> dict:
    image, latencies = picture(), []
    async with SandboxClient(url) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one_payer(client, 10_000 + n, image, echo, latencies)
                               for n in range(payers)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"updates": payers * STEPS, "seconds": elapsed, "rate": payers * STEPS / elapsed,
            "median_ms": statistics.median(ordered) * 1000,
            "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000}


def charges_csv(folder: Path, payers: int) -> Path:
    path = folder / "charges.csv"
    lines = ["transaction_id,order_id,payer_id,amount,currency,status,created_at"]
    for n in range(payers):
        for k in range(2):
            lines.append(f"t{n}-{k},ORD{10_000 + n},p{n},99.00,CNY,succeeded,2026-01-01T00:0{k}:00+00:00")
    path.write_text("\n".join(lines) + "\n")
    return path


async def measure(command: list[str], env: dict, payers: int, echo: bool) -> dict:
    sandbox = TelegramSandbox(token=TOKEN)
    url = await sandbox.start()
    process = await asyncio.create_subprocess_exec(*command, env={**env, "TELEGRAM_API_BASE": url},
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with SandboxClient(url) as client:  # wait until the bot answers before timing
            await client.create_user(1, first_name="warm-up")
            sent = await client.send_text(1, "hello")
            await client.wait_for_bot_messages(1, after_message_id=sent["message"]["message_id"],
                                               timeout=60)
        return await drive(url, payers, echo)
    finally:
        process.terminate()
        await process.wait()
        await sandbox.stop()


def prepare(payers: int, postgres: bool) -> dict:
    """A fresh database with two charges per payer's order; returns the bot's environment."""
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    cli = str(Path(sys.executable).with_name("refund-bot"))
    env = {**os.environ, "BOT_TOKEN": TOKEN, "DATA_DIR": str(folder / "data"), "TIMEZONE": "UTC"}
    env.pop("DATABASE_URL", None)
    if postgres:
        env["DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_report"
        for sql in ("DROP DATABASE IF EXISTS bench_report", "CREATE DATABASE bench_report"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql],
                           check=True, capture_output=True)
    subprocess.run([cli, "import-transactions", str(charges_csv(folder, payers)), "--no-progress"],
                   env=env, check=True, capture_output=True)
    return env


async def compare(env: dict, payers: int, database: str) -> None:
    cli = str(Path(sys.executable).with_name("refund-bot"))
    bot = await measure([cli, "run"], env, payers, echo=False)
    echo = await measure([sys.executable, "-m", "benchmarks.echo_bot"], env, payers, echo=True)
    for name, result in ((f"refund bot ({database})", bot), ("bare echo bot", echo)):
        print(f"{name:<28} {result['updates']} updates in {result['seconds']:.1f} s = "
              f"{result['rate']:.0f} updates/s; reply latency median {result['median_ms']:.0f} ms, "
              f"p95 {result['p95_ms']:.0f} ms")
    print(f"ratio refund bot / echo bot: {bot['rate'] / echo['rate']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payers", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    arguments = parser.parse_args()
    env = prepare(arguments.payers, arguments.postgres)
    asyncio.run(compare(env, arguments.payers, "PostgreSQL" if arguments.postgres else "SQLite"))


if __name__ == "__main__":
    main()
