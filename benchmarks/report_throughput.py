"""Full report conversations through the sandbox, 200 concurrent payers: each runtime vs its bare echo bot.

Run: .venv/bin/python -m benchmarks.report_throughput [--runtime aiogram|ptb|both] [--payers 200]
         [--postgres] [--repeat 3] [--ptb-echo "--preset runner"] [--profile FOLDER] [--one-by-one 20]
The sandbox and the simulated payers run in this process; the bot under test runs as its own
process (`refund-bot run` with BOT_RUNTIME=aiogram or ptb), then that framework's bare echo bot as
the floor (`python -m benchmarks.echo_bot`, or `python -m benchmarks.echo_bot_ptb --preset runner`:
configured as bot/ptb_runtime/app.py configures PTB; --ptb-echo "" measures PTB's tutorial defaults
instead), so both are measured the same way. Each payer sends /report, order number, amount, time, a
photo, then taps Submit, and waits for the bot's answer before the next step: 6 updates per payer.
--payers 1 measures an idle bot instead: --one-by-one payers (20) report one after another, and the
table gives each step's median reply in ms.
Every measurement runs --repeat times, round-robin (each refund bot run on a fresh database); the
table shows the medians: updates/s, the payers' reply latency median / p95, refund bot / echo bot,
the bot process's CPU ms per update (steadier than updates/s when the machine is shared), the load
average at the start, and tracebacks the bots logged while measured. Everything shares this
machine's cores: other work running meanwhile moves updates/s by up to 2x, so use --repeat 3 or more.
With --postgres the bot uses a fresh database bench_report on 127.0.0.1:5432 (user postgres).
--profile FOLDER: py-spy (`.venv/bin/pip install py-spy`) samples each bot's first run (GIL holder,
collapsed stacks); summarize with `python -m benchmarks.stacks FOLDER/refund-ptb.txt`.
Related: benchmarks.ptb_echo_settings (the PTB echo bot setting by setting), benchmarks.httpcore_pool_cost.
"""

import argparse
import asyncio
import io
import os
import shlex
import signal
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
STEP_NAMES = ("/report", "order", "amount", "time", "photo", "submit")


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 640), (30, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def one_payer(client: SandboxClient, user_id: int, image: bytes, echo: bool,
                    latencies: list[tuple[int, float]]) -> None:
    await client.create_user(user_id, first_name=f"P{user_id}")

    async def step(send) -> dict:
        started = time.perf_counter()
        sent = await send()
        message_id = sent["message"]["message_id"] if "message" in sent else last_id[0]
        [reply] = (await client.wait_for_bot_messages(user_id, after_message_id=message_id, count=1,
                                                      timeout=120))[-1:]
        latencies.append((len(asked), time.perf_counter() - started))
        asked.append(reply)
        last_id[0] = reply["message_id"]
        return reply

    last_id, asked = [0], []
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


async def drive(url: str, payers: int, echo: bool, one_by_one: int) -> dict:
    """`payers` at once; a single payer means `one_by_one` payers one after another (an idle bot)."""
    image, latencies = picture(), []
    async with SandboxClient(url) as client:
        started = time.perf_counter()
        if payers == 1:
            for n in range(one_by_one):
                await one_payer(client, 10_000 + n, image, echo, latencies)
        else:
            await asyncio.gather(*(one_payer(client, 10_000 + n, image, echo, latencies)
                                   for n in range(payers)))
        elapsed = time.perf_counter() - started
    ordered = sorted(seconds for _, seconds in latencies)
    steps = [statistics.median(s for step, s in latencies if step == index) * 1000 for index in range(STEPS)]
    return {"updates": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
            "median_ms": statistics.median(ordered) * 1000,
            "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000, "step_ms": steps}


def charges_csv(folder: Path, payers: int) -> Path:
    path = folder / "charges.csv"
    lines = ["transaction_id,order_id,payer_id,amount,currency,status,created_at"]
    for n in range(payers):
        for k in range(2):
            lines.append(f"t{n}-{k},ORD{10_000 + n},p{n},99.00,CNY,succeeded,2026-01-01T00:0{k}:00+00:00")
    path.write_text("\n".join(lines) + "\n")
    return path


async def measure(command: list[str], env: dict, payers: int, echo: bool, one_by_one: int,
                  profile: Path | None = None) -> dict:
    """One run of `command` (a bot process) against a fresh sandbox; the drive's figures.
    With `profile`, py-spy samples the bot process during the drive into that file (collapsed stacks)."""
    sandbox = TelegramSandbox(token=TOKEN)
    url = await sandbox.start()
    log = tempfile.NamedTemporaryFile(prefix="bench-bot-", suffix=".log", delete=False)
    process = await asyncio.create_subprocess_exec(*command, env={**env, "TELEGRAM_API_BASE": url},
                                                   stdout=subprocess.DEVNULL, stderr=log)
    try:
        async with SandboxClient(url) as client:  # wait until the bot answers before timing
            await client.create_user(1, first_name="warm-up")
            sent = await client.send_text(1, "hello")
            await client.wait_for_bot_messages(1, after_message_id=sent["message"]["message_id"],
                                               timeout=60)
        spy = await start_profiler(process.pid, profile) if profile else None
        load, bot_cpu, own_cpu = os.getloadavg()[0], cpu_seconds(process.pid), time.process_time()
        result = await drive(url, payers, echo, one_by_one)
        per_update = 1000 / result["updates"]
        bot_cpu_ms = (cpu_seconds(process.pid) - bot_cpu) * per_update
        sandbox_cpu_ms = (time.process_time() - own_cpu) * per_update
        logged = log.tell()  # what the bot logs while being stopped is not counted
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await spy.wait()
    finally:
        process.terminate()
        await process.wait()
        await sandbox.stop()
        log.close()
    errors = tracebacks(log.name, logged)
    if not errors:
        os.unlink(log.name)
    return {**result, "load": load, "bot_cpu_ms": bot_cpu_ms, "sandbox_cpu_ms": sandbox_cpu_ms,
            "errors": errors, "log": log.name if errors else "-"}


async def start_profiler(pid: int, output: Path) -> asyncio.subprocess.Process:
    """py-spy (pip install py-spy) sampling the thread that holds `pid`'s GIL, until SIGINT."""
    spy = str(Path(sys.executable).with_name("py-spy"))
    process = await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--gil", "--rate", "250", "--format", "raw",
        "--output", str(output), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(1.0)  # attached before the drive starts
    return process


def tracebacks(log: str, size: int) -> int:
    """How many tracebacks the bot wrote in the first `size` bytes of its log."""
    return Path(log).read_bytes()[:size].count(b"Traceback")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def bot_env(payers: int, postgres: bool, runtime: str) -> dict:
    """The refund bot's environment on a fresh database, running `runtime`."""
    return {**prepare(payers, postgres), "BOT_RUNTIME": runtime}


def echo_command(runtime: str, ptb_echo: str) -> list[str]:
    """The floor of a runtime: its framework's bare echo bot."""
    if runtime == "aiogram":
        return [sys.executable, "-m", "benchmarks.echo_bot"]
    return [sys.executable, "-m", "benchmarks.echo_bot_ptb", *shlex.split(ptb_echo)]


def medians(runs: list[dict]) -> dict:
    """Each figure's median over the repeated runs (and the runs' spread of updates/s)."""
    figures = {key: statistics.median(run[key] for run in runs)
               for key in ("rate", "median_ms", "p95_ms", "load", "bot_cpu_ms", "sandbox_cpu_ms")}
    steps = [statistics.median(run["step_ms"][index] for run in runs) for index in range(STEPS)]
    return {**figures, "rates": [run["rate"] for run in runs], "errors": sum(run["errors"] for run in runs),
            "step_ms": steps}


async def compare(runtimes: list[str], payers: int, postgres: bool, repeat: int, ptb_echo: str,
                  profiles: Path | None, one_by_one: int) -> None:
    cli = str(Path(sys.executable).with_name("refund-bot"))
    reporters = one_by_one if payers == 1 else payers
    echo_env = prepare(reporters, postgres)  # the echo bots ignore the database
    runs: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(repeat):  # round-robin, so that a burst of other load hits every row alike
        for runtime in runtimes:
            for kind, command, env in (
                ("refund", [cli, "run"], bot_env(reporters, postgres, runtime)),
                ("echo", echo_command(runtime, ptb_echo), echo_env),
            ):
                profile = profiles / f"{kind}-{runtime}.txt" if profiles and round_number == 0 else None
                run = await measure(command, env, payers, echo=kind == "echo", one_by_one=one_by_one,
                                    profile=profile)
                runs.setdefault((runtime, kind), []).append(run)
                print(f"  {kind} bot on {runtime}: {run['rate']:.0f} updates/s, load {run['load']:.1f}, "
                      f"{run['errors']} tracebacks in {run['log']}", file=sys.stderr)
    rows = [(name, medians(runs[name, "refund"]), medians(runs[name, "echo"])) for name in runtimes]
    database = "PostgreSQL" if postgres else "SQLite"
    who = f"1 payer at a time x {one_by_one}" if payers == 1 else f"{payers} payers"
    print(f"{who} x {STEPS} updates, {database}, median of {repeat} run(s); "
          "latency = payer's wait for each reply (median/p95), CPU = the bot process's CPU ms per update, "
          "errors = tracebacks in the bots' logs")
    print(f"{'runtime':<8} {'refund bot/s':>12} {'echo bot/s':>10} {'ratio':>6} {'bot latency ms':>15} "
          f"{'echo latency ms':>15} {'bot CPU':>7} {'echo CPU':>8} {'load':>5} {'errors':>6}")
    for runtime, bot, echo in rows:
        print(f"{runtime:<8} {bot['rate']:>12.0f} {echo['rate']:>10.0f} {bot['rate'] / echo['rate']:>6.2f} "
              f"{latency(bot):>15} {latency(echo):>15} {bot['bot_cpu_ms']:>7.1f} {echo['bot_cpu_ms']:>8.1f} "
              f"{max(bot['load'], echo['load']):>5.1f} {bot['errors'] + echo['errors']:>6}")
    if payers == 1:
        print("median reply per step, ms (refund bot / echo bot): " + ", ".join(STEP_NAMES))
        for runtime, bot, echo in rows:
            pairs = zip(STEP_NAMES, bot["step_ms"], echo["step_ms"], strict=True)
            cells = [f"{name} {bot_ms:.1f}/{echo_ms:.1f}" for name, bot_ms, echo_ms in pairs]
            print(f"{runtime:<8} " + "  ".join(cells))
    if repeat > 1:
        for runtime, bot, echo in rows:
            print(f"{runtime:<8} runs, updates/s: refund bot {[round(rate) for rate in bot['rates']]}, "
                  f"echo bot {[round(rate) for rate in echo['rates']]}")


def latency(figures: dict) -> str:
    """"median / p95" in milliseconds."""
    return f"{figures['median_ms']:.0f} / {figures['p95_ms']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", choices=["aiogram", "ptb", "both"], default="both")
    parser.add_argument("--payers", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; medians shown")
    parser.add_argument("--ptb-echo", default="--preset runner",
                        help='flags of benchmarks.echo_bot_ptb, the PTB floor ("" = PTB defaults)')
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles of each bot's first run")
    parser.add_argument("--one-by-one", type=int, default=20,
                        help="with --payers 1: how many payers report one after another")
    arguments = parser.parse_args()
    runtimes = ["aiogram", "ptb"] if arguments.runtime == "both" else [arguments.runtime]
    if arguments.profile:
        arguments.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(compare(runtimes, arguments.payers, arguments.postgres, arguments.repeat, arguments.ptb_echo,
                        arguments.profile, arguments.one_by_one))


if __name__ == "__main__":
    main()
