"""Where a command's CPU goes, by kind of process: run it, sample every process once a second, print a table.

    python bench/suite_cpu.py -- .venv/bin/python -m pytest -n auto -p no:cacheprovider

The test suite is CPU-bound on 2 cores; this tells how much of it is Chromium, the servers the tests start, the
pytest workers, ... A process is counted by the CPU it used while the command ran (processes that existed before
count from then on); one that lives less than a sample apart may be missed, so totals are a lower bound.
``--descendants`` counts only the command's own process tree, so other work on a shared machine is left out (a
process that leaves the tree, such as a daemon that forks away, is then missed).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time

import psutil

# (kind, words in the command line that make a process of that kind), first match wins.
KINDS = (
    ("chromium", ("chromium", "chrome")),
    ("lumen-ext serve", ("lumen_ext serve",)),
    ("lumen serve", ("bin/lumen serve",)),
    ("uvicorn", ("uvicorn",)),
    ("playwright driver", ("playwright",)),
    ("redis / nginx", ("redis", "nginx")),
    ("corpus verify.py", ("verify.py",)),
    ("pytest and its workers", ("pytest", "execnet", "exec(eval(sys.stdin")),
    ("pip", ("pip install",)),
    ("other python", ("python",)),
)


def kind_of(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "other"
    return next((kind for kind, words in KINDS if any(word in command for word in words)), "other")


def _sampled(root: int, descendants: bool) -> list[psutil.Process]:
    if not descendants:
        return list(psutil.process_iter())
    try:
        top = psutil.Process(root)
        return [top, *top.children(recursive=True)]
    except psutil.Error:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--descendants", action="store_true", help="count only the command and the processes it starts"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")
    started = time.time()
    before: dict[tuple[int, float], float] = {}  # CPU a process had used before the command started
    last: dict[tuple[int, float], tuple[str, float]] = {}
    child = subprocess.Popen(command)
    me = psutil.Process().pid
    while True:
        for process in _sampled(child.pid, args.descendants):
            if process.pid == me:
                continue
            try:
                key = (process.pid, process.create_time())
                times = process.cpu_times()
            except psutil.Error:
                continue
            used = times.user + times.system
            if key not in last:
                if key[1] < started:
                    before[key] = used
                last[key] = (kind_of(process), used)
            else:
                last[key] = (last[key][0], used)
        if child.poll() is not None:
            break
        time.sleep(1)
    wall = time.time() - started
    cpu, count = collections.Counter(), collections.Counter()
    for key, (kind, used) in last.items():
        spent = used - before.get(key, 0.0)
        if spent > 0.05:
            cpu[kind] += spent
            count[kind] += 1
    total = sum(cpu.values())
    print(f"\n{'kind of process':<24} {'processes':>9} {'CPU s':>9} {'share':>7}")
    for kind, spent in cpu.most_common():
        print(f"{kind:<24} {count[kind]:>9} {spent:>9.1f} {spent / total:>7.1%}")
    cores = psutil.cpu_count()
    print(
        f"{'total':<24} {'':>9} {total:>9.1f}   {total / (wall * cores):.0%} of {cores} cores for {wall:.0f} s"
    )
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
