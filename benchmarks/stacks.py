"""Where a bot's CPU went: a summary of py-spy's collapsed stacks (`py-spy record --format raw`).

Run: .venv/bin/python -m benchmarks.stacks PROFILE.txt [--top 25]
Prints the share of samples per package by the frame that was running (self), then the functions
with the most samples anywhere on the stack (inclusive) and as the running frame (self).
"""

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def package(file: str) -> str:
    """The top-level package of a frame's file (site-packages' or the project's), or the file."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python3" in file:
        return "stdlib:" + file.rsplit("/", 1)[-1].removesuffix(".py")
    parts = file.split("/")
    return parts[0] if len(parts) > 1 else file


def read(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """(stack of (function, file) from the root, samples) per line."""
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        parsed = []
        for frame in frames.split(";"):
            match = FRAME.match(frame)
            parsed.append((match["function"], match["file"]) if match else (frame, "?"))
        stacks.append((parsed, int(count)))
    return stacks


def summarize(path: Path, top: int) -> None:
    stacks = read(path)
    total = sum(count for _, count in stacks) or 1
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        function, file = frames[-1]
        by_package[package(file)] += count
        own[f"{function} ({package(file)})"] += count
        for name in {f"{function} ({package(file)})" for function, file in frames}:
            inclusive[name] += count
    print(f"{path}: {total} samples")
    print("self, by package:")
    for name, count in by_package.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("inclusive (on the stack):")
    for name, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("self (running):")
    for name, count in own.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    arguments = parser.parse_args()
    summarize(arguments.profile, arguments.top)


if __name__ == "__main__":
    main()
