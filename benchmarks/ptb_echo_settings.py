"""The bare PTB echo bot under report_throughput's 200 payers, one setting changed at a time, vs aiogram's.

Run: .venv/bin/python -m benchmarks.ptb_echo_settings [--payers 200] [--repeat 3] [--only NAME ...]
         [--profile FOLDER]  (py-spy's collapsed stacks of each row's first run; see benchmarks.stacks)
Each row is benchmarks.echo_bot_ptb with the flags shown (PTB's defaults for the rest; "runner" is
configured as bot/ptb_runtime/app.py), measured exactly as report_throughput measures its floor.
--rate-limiter needs aiolimiter importable (python-telegram-bot[rate-limiter]); without it that row
is skipped. Prints the median of --repeat runs: updates/s, reply latency median/p95, the bot's CPU ms
per update, the harness's (sandbox and payers) CPU ms per update, updates/s relative to the aiogram
echo bot, and the bot's tracebacks while measured (failed updates).
The rows run round-robin, so that other load on the machine falls on every row alike.
"""

import argparse
import asyncio
import importlib.util
import shlex
import sys
from pathlib import Path

from benchmarks.report_throughput import STEPS, measure, medians, prepare

AIOGRAM = "aiogram echo"
CONFIGURATIONS = {
    AIOGRAM: None,
    "PTB defaults": "",
    "concurrent on (256)": "--concurrent-updates on",
    "concurrent 64": "--concurrent-updates 64",
    "concurrent 8": "--concurrent-updates 8",
    "pool size 8": "--pool-size 8",
    "pool timeout 10": "--pool-timeout 10",
    "rate limiter": "--rate-limiter",
    "poll timeout 0": "--poll-timeout 0",
    "poll timeout 50": "--poll-timeout 50",
    "limit 10": "--limit 10",
    "no job queue": "--no-job-queue",
    "concurrent 256, pool 8": "--concurrent-updates on --pool-size 8",
    "runner": "--preset runner",
    "runner, pool 8": "--preset runner --pool-size 8",
    "runner, pool 16": "--preset runner --pool-size 16",
    "runner, pool 32": "--preset runner --pool-size 32",
    "runner + rate limiter": "--preset runner --rate-limiter",
}


def command(flags: str | None) -> list[str]:
    if flags is None:
        return [sys.executable, "-m", "benchmarks.echo_bot"]
    return [sys.executable, "-m", "benchmarks.echo_bot_ptb", *shlex.split(flags)]


async def sweep(names: list[str], payers: int, repeat: int, profiles: Path | None) -> None:
    env = prepare(payers, postgres=False)
    if importlib.util.find_spec("aiolimiter") is None:
        print("aiolimiter is not importable: the rate limiter rows are skipped", file=sys.stderr)
        names = [name for name in names if "--rate-limiter" not in (CONFIGURATIONS[name] or "")]
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_number in range(repeat):  # round-robin, so that a burst of other load hits every row alike
        for name in names:
            profile = profiles / f"{slug(name)}.txt" if profiles and round_number == 0 else None
            run = await measure(command(CONFIGURATIONS[name]), env, payers, echo=True, profile=profile)
            runs[name].append(run)
            print(f"  {name}: {run['rate']:.0f} updates/s, load {run['load']:.1f}, "
                  f"{run['errors']} tracebacks in {run['log']}", file=sys.stderr)
    rows = {name: medians(name_runs) for name, name_runs in runs.items()}
    floor = rows.get(AIOGRAM, {}).get("rate")
    print(f"{payers} payers x {STEPS} updates, median of {repeat} run(s), round-robin")
    print(f"{'echo bot':<24} {'flags':<38} {'updates/s':>9} {'runs':>13} {'latency ms':>12} "
          f"{'CPU ms/upd':>10} {'harness CPU':>11} {'vs aiogram':>10} {'load':>5} {'errors':>6}")
    for name, row in rows.items():
        spread = "/".join(f"{rate:.0f}" for rate in row["rates"])
        versus = f"{row['rate'] / floor:.2f}" if floor else "-"
        print(f"{name:<24} {CONFIGURATIONS[name] or '':<38} {row['rate']:>9.0f} {spread:>13} "
              f"{row['median_ms']:>5.0f} / {row['p95_ms']:<4.0f} {row['bot_cpu_ms']:>10.2f} "
              f"{row['sandbox_cpu_ms']:>11.2f} {versus:>10} "
              f"{row['load']:>5.1f} {row['errors']:>6}")


def slug(name: str) -> str:
    return "".join(character if character.isalnum() else "-" for character in name.lower())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGURATIONS), help="these rows only")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles of each row's first run")
    arguments = parser.parse_args()
    if arguments.profile:
        arguments.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(sweep(arguments.only or list(CONFIGURATIONS), arguments.payers, arguments.repeat,
                      arguments.profile))


if __name__ == "__main__":
    main()
