"""Load test: simulated users open real Bokeh sessions over WebSocket and change a filter in a loop.

    python bench/load_test.py [--users 100] [--interactions 10] [--think 2.0] [--procs 1] [--redis]
                              [--rows 200000] [--rounds 1] [--per-session-source]
                              [--no-session-cleanup] [--max-seconds 900]

Each user is a raw WebSocket client speaking Bokeh's protocol, as a browser does: it loads the page (which
creates the session and its token), pulls the document, sends ``document_ready`` (Lumen builds its layout
on load), then, ``--interactions`` times, sets the region filter's ``value`` and waits for the table's data
to come back (the ``ColumnDataChanged`` of its source). Latency is that round trip, measured by the client:
Panel's 50 ms debounce, the pipeline, the re-render and the network included.

The server is `lumen-ext serve` on
127.0.0.1 (started through ``bench/memory_probe.py``, which adds a loopback-only probe route and, with
``--no-session-cleanup``, leaves :mod:`lumen_ext.serving.session_cleanup` out for comparison), with closed
sessions destroyed after 1 s. Runs, in order: a warm-up user, the single-user
baseline, then ``--users`` at once (opening at most ``--open-concurrency`` pages at a time). Server RSS
(every process of its group) is sampled before the crowd (after the warm-up and the baseline), at its peak
and after every session was destroyed. With ``--procs 2 --redis`` the two workers share a throwaway
redis-server and the table shows each worker's Redis hits. Everything is bounded by ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lumen_ext.serving.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it
REGIONS = ["East", "North", "South", "West"]
SPEC = """\
sources:
  rides:
    type: file
    shared: true
    tables:
      rides: rides.csv
pipelines:
  by_product:
    source: rides
    table: rides
    filters:
      - type: widget
        field: region
        multi: true
    transforms:
      - type: aggregate
        by: [product]
        method: sum
layouts:
  - title: Rides
    pipeline: by_product
    views:
      - type: table
"""
# The filter values users cycle through: 15 non-empty subsets of the 4 regions.
CHOICES = [[r for i, r in enumerate(REGIONS) if mask >> i & 1] for mask in range(1, 16)]


def write_project(folder: Path, rows: int, shared: bool = True) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    pd.DataFrame(
        {
            "region": rng.choice(REGIONS, rows),
            "product": rng.choice([f"p{i:02d}" for i in range(40)], rows),
            "qty": rng.integers(1, 20, rows),
            "fare": rng.random(rows) * 50,
        }
    ).to_csv(folder / "rides.csv", index=False)
    (folder / "rides.yaml").write_text(SPEC if shared else SPEC.replace("    shared: true\n", ""))
    return folder / "rides.yaml"


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    open_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def user(base: str, n: int, args, results: Results, gate: asyncio.Semaphore, deadline: float) -> None:
    from lumen_ext.scale.bokeh_client import Session

    rng = random.Random(n)
    session = Session(base, "rides")
    try:
        async with gate:
            started = time.perf_counter()
            await session.open(args.timeout)
            results.open_seconds.append(time.perf_counter() - started)
        for i in range(args.interactions):
            if time.monotonic() > deadline:
                results.errors.append("time budget exhausted")
                return
            await asyncio.sleep(rng.uniform(0.5, 1.5) * args.think)
            choice = CHOICES[(n + i) % len(CHOICES)]
            results.latencies.append(await session.choose(choice, args.timeout))
            await session.drain(0.05)
    except Exception as exc:  # every failure is counted and shown, none stops the run
        results.errors.append(f"user {n}: {type(exc).__name__}: {exc}")
    finally:
        session.close()


async def crowd(base: str, users: int, args, budget: float) -> Results:
    results = Results()
    gate = asyncio.Semaphore(args.open_concurrency)
    deadline = time.monotonic() + budget
    await asyncio.wait_for(
        asyncio.gather(*(user(base, n, args, results, gate, deadline) for n in range(users))),
        budget + args.timeout,
    )
    await asyncio.sleep(1.0)  # let the close handshakes go out: the loop stops running after this
    return results


# --- the server ---------------------------------------------------------------------------------------------


def group_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children (forked workers)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    return total


def scrape(base: str, attempts: int) -> dict[str, str]:
    """``{process id: metrics text}``; each request lands on one worker, so ask several times."""
    seen: dict[str, str] = {}
    for _ in range(attempts):
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        pid = re.search(r'process="(\d+)"', text).group(1)
        seen[pid] = text
    return seen


def metric(text: str, name: str, label: str = "") -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(rf"^{name}\{{[^}}]*{re.escape(label)}[^}}]*\}} (\S+)$", text, re.M)
    )


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--interactions", type=int, default=10, help="filter changes per user")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a user's changes")
    parser.add_argument("--procs", type=int, default=1, help="server processes (--num-procs)")
    parser.add_argument(
        "--redis", action="store_true", help="share the stage cache through a local redis-server"
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--open-concurrency", type=int, default=4, help="pages opened at the same time")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds one page load or change may take"
    )
    parser.add_argument(
        "--per-session-source",
        action="store_true",
        help="drop `shared: true`: each session builds its own source",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the crowd, to tell a leak from a plateau"
    )
    parser.add_argument(
        "--no-session-cleanup",
        action="store_true",
        help="serve without lumen_ext.serving.session_cleanup (the leak it fixes, for comparison)",
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="budget of the whole crowd phase")
    args = parser.parse_args()
    if args.procs > 1 and not args.redis:
        print("note: without --redis each worker has its own cache", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="lumen-ext-load-") as tmp, contextlib.ExitStack() as stack:
        spec = write_project(Path(tmp), args.rows, shared=not args.per_session_source)
        # `lumen-ext serve` through the memory probe's launcher: the same server (plus a loopback-only
        # probe route), which can also run without the session clean-up for a before/after comparison.
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "memory_probe.py"),
            str(spec),
            "--no-data",
            "--session-lifetime",
            "1000",
        ]
        port = free_port()
        cmd += ["--port", str(port), "--num-procs", str(args.procs), "--log-level", "warning"]
        if args.no_session_cleanup:
            cmd.append("--no-session-cleanup")
        if args.redis:
            from lumen_ext.scale.local_redis import LocalRedis

            redis_server = LocalRedis(maxmemory="512mb").start()
            stack.callback(redis_server.stop)
            cmd += ["--redis-url", redis_server.url]
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(lambda: (os.killpg(server.pid, signal.SIGTERM), server.wait(20)))
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        while log.read_text(errors="replace").count("lumen-ext: serving") < args.procs:
            if server.poll() is not None or time.monotonic() - started > 120:
                print(log.read_text(errors="replace"), file=sys.stderr)
                return 1
            time.sleep(0.2)

        loop = asyncio.new_event_loop()
        warm = loop.run_until_complete(crowd(base, 1, args, args.max_seconds))
        single = loop.run_until_complete(crowd(base, 1, args, args.max_seconds))

        def sessions_open() -> float:
            return sum(metric(t, "lumen_ext_sessions") for t in scrape(base, 4 * args.procs).values())

        def settle() -> None:
            t0 = time.monotonic()
            while (still := sessions_open()) > 0 and time.monotonic() - t0 < 60:
                time.sleep(0.5)
            print(
                f"[{time.monotonic() - started:6.1f} s] sessions closed ({still:.0f} left)", file=sys.stderr
            )
            time.sleep(2)

        settle()
        rss_before = group_rss(server.pid)
        peak = [rss_before]

        async def sample(stop: asyncio.Event) -> None:
            while not stop.is_set():
                peak.append(group_rss(server.pid))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        async def run_crowd() -> tuple[Results, float]:
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample(stop))
            t0 = time.perf_counter()
            try:
                return await crowd(base, args.users, args, args.max_seconds), time.perf_counter() - t0
            finally:
                stop.set()
                await sampler

        # Later rounds tell a leak (RSS grows every round) from the allocator keeping its high-water mark
        # (RSS grows once, then stays); the figures in the table are the first round's.
        rss_rounds = []
        for round_ in range(args.rounds):
            results, seconds = loop.run_until_complete(run_crowd())
            if round_ == 0:
                many, wall = results, seconds
            else:
                many.errors += results.errors
            settle()
            rss_rounds.append(group_rss(server.pid))
        rss_after = rss_rounds[0]
        texts = scrape(base, 8 * args.procs)
        loop.close()

    mib = 1024 * 1024
    base_p50, base_p95 = quantile(single.latencies, 0.5), quantile(single.latencies, 0.95)
    p50, p95 = quantile(many.latencies, 0.5), quantile(many.latencies, 0.95)
    source = "per-session source" if args.per_session_source else "shared source"
    cleanup = "without session clean-up" if args.no_session_cleanup else "session clean-up on"
    print(f"server: {args.procs} process(es){' + redis' if args.redis else ''}; {args.rows:,} rows, {source}; {cleanup}; "
          f"think {args.think} s; {args.interactions} changes per user; warm-up errors {len(warm.errors)}")  # fmt: skip
    print(f"{'run':<12}{'users':>6}{'changes':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p95/base p95':>14}"
          f"{'open p50 s':>12}{'wall s':>8}")  # fmt: skip
    print(f"{'single user':<12}{1:>6}{len(single.latencies):>9}{len(single.errors):>8}{base_p50 * 1e3:>9.1f}"
          f"{base_p95 * 1e3:>9.1f}{1.0:>14.2f}{quantile(single.open_seconds, 0.5):>12.2f}{'':>8}")  # fmt: skip
    print(f"{'crowd':<12}{args.users:>6}{len(many.latencies):>9}{len(many.errors):>8}{p50 * 1e3:>9.1f}"
          f"{p95 * 1e3:>9.1f}{p95 / base_p95:>14.2f}{quantile(many.open_seconds, 0.5):>12.2f}{wall:>8.1f}")  # fmt: skip
    print(f"server RSS: before {rss_before / mib:.0f} MiB, peak {max(peak) / mib:.0f} MiB, "
          f"after {rss_after / mib:.0f} MiB ({(rss_after / rss_before - 1) * 100:+.1f}% vs before)")  # fmt: skip
    if args.rounds > 1:
        print("RSS after each round: " + ", ".join(f"{r / mib:.0f} MiB" for r in rss_rounds))
    memory, redis = 'tier="memory"', 'tier="redis"'
    for pid, text in sorted(texts.items()):
        print(
            f"worker {pid}: sessions created {metric(text, 'lumen_ext_sessions_created_total'):.0f}, "
            f"changes {metric(text, 'lumen_ext_interactions_total'):.0f} "
            f"(errors {metric(text, 'lumen_ext_interaction_errors_total'):.0f}), cache hits "
            f"memory {metric(text, 'lumen_ext_cache_hits_total', memory):.0f} / "
            f"redis {metric(text, 'lumen_ext_cache_hits_total', redis):.0f}, misses "
            f"memory {metric(text, 'lumen_ext_cache_misses_total', memory):.0f}"
        )
    for error in (warm.errors + single.errors + many.errors)[:10]:
        print("error:", error)
    return 0 if not many.errors and not single.errors else 1


if __name__ == "__main__":
    sys.exit(main())
