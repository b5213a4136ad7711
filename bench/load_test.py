"""Load test: simulated users open real Bokeh sessions over WebSocket and change a filter in a loop.

    python bench/load_test.py [--users 100] [--steady-interactions 10] [--think 2.0] [--procs 1] [--redis]
                              [--rows 200000] [--rounds 1] [--open-concurrency 4] [--per-session-source]
                              [--panel-busy] [--no-session-cleanup] [--no-memory-release] [--panel-change-path]
                              [--allocator pymalloc] [--profile OUT.txt] [--max-seconds 900]

Each user is a raw WebSocket client speaking Bokeh's protocol, as a browser does: it loads the page (which
creates the session and its token), pulls the document, sends ``document_ready`` (Lumen builds its layout
on load) and waits until its table holds data: that is a **page open**. Then it changes the region filter's
``value`` and waits for the table's data to come back (the ``ColumnDataChanged`` of its source): that is an
**interaction**, timed by the client (Panel's 50 ms debounce, the pipeline, the re-render and the network).

Think-time model (closed loop): after each response a user thinks for a time drawn uniformly from
[0.5, 1.5] x ``--think`` seconds, then makes its next change; users cycle through the 15 non-empty subsets of
4 regions, each from its own starting point. So ``--users`` users offer about users / (think + latency)
changes per second: 100 users at 2.0 s is ~50 changes/s.

Phases, reported separately:

* **ramp**: pages open, at most ``--open-concurrency`` at a time (page-open p50/p95). A user whose page is
  open starts changing filters at once, so the first users interact while the others' sessions are being
  built; those changes are reported as "during ramp".
* **steady state**: starts when the last page is open (all ``--users`` sessions alive). Every user keeps
  going until it made ``--steady-interactions`` changes that *started* in the steady state; the steady
  p50/p95 are the figure that answers "latency with N sessions open". The target compares the steady p95
  with the single-user p95.

Runs, in order: a warm-up user that visits every filter value once (so the stage cache already holds every
state the crowd asks for, and RSS "before" includes the cache, which is bounded, not a leak), the single-user
baseline, then the crowd. Server RSS (every process of its group) is sampled before the crowd (after the
warm-up and the baseline, with their sessions destroyed), at its peak and after every session of the crowd
was destroyed and the server released memory (:mod:`lumen_ext.serving.memory_release`, 2 s after the last
destroy). ``--rounds`` repeats the crowd to tell a leak (RSS grows every round) from a plateau.
The server runs on `lumen-ext serve`'s default allocator: it re-executes itself with ``PYTHONMALLOC=malloc``
(CPython's small objects from glibc's malloc, which ``malloc_trim`` can return; :mod:`lumen_ext.serving.allocator`).
``--allocator pymalloc`` serves on CPython's pymalloc instead, to show how much of "after" is pymalloc keeping
its arenas. The header prints the ``PYTHONMALLOC`` the server process runs with.
The garbage collector's passes in the server (count, total and longest pause) are printed per phase.

The server is `lumen-ext serve` on 127.0.0.1 (started through ``bench/memory_probe.py``, which adds a
loopback-only probe route, and can leave one of lumen-ext's fixes out for comparison: ``--panel-busy``,
``--no-session-cleanup``, ``--no-memory-release``, ``--panel-change-path``), with closed sessions destroyed after 1 s. With
``--procs 2 --redis`` the two workers share a throwaway redis-server; the warm-up then runs against
whichever worker the balancer-less kernel hands it, so the table shows each worker's Redis hits: states the
other worker computed. ``--profile`` records the server with py-spy during the steady state
(``--nonblocking``, raw collapsed stacks). The client runs on the same machine and its CPU time is printed: on a small machine it competes with the
server. Everything is bounded by ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lumen_ext.serving.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it
sys.path.insert(0, str(ROOT / "tests"))  # support.*: helpers shared with the tests, not shipped
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
# Flags that serve without one of lumen-ext's fixes (bench/memory_probe.py leaves it out), for comparisons.
LEFT_OUT = ("panel_busy", "no_session_cleanup", "no_memory_release", "panel_change_path")


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
    open_seconds: list[float] = field(default_factory=list)
    ramp_latencies: list[float] = field(default_factory=list)  # changes started before the last page opened
    latencies: list[float] = field(default_factory=list)  # changes started with every session open
    errors: list[str] = field(default_factory=list)
    ramp_seconds: float = 0.0
    ramp_gc: dict = field(default_factory=dict)
    steady_cpu_start: tuple[float, float] = (0.0, 0.0)  # (wall clock, server CPU seconds) as it began
    steady_cpu: tuple[float, float] = (0.0, 0.0)  # (wall seconds, server CPU seconds) of the steady state


async def user(n: int, crowd_: Crowd) -> None:
    from support.bokeh_client import Session

    args, results = crowd_.args, crowd_.results
    rng = random.Random(n)
    session = Session(crowd_.base, "rides")
    try:
        async with crowd_.gate:
            started = time.perf_counter()
            await session.open(args.timeout)
            results.open_seconds.append(time.perf_counter() - started)
        crowd_.opened()
        steady = 0
        for i in range(crowd_.interactions_cap):
            if steady >= crowd_.interactions:
                return
            if time.monotonic() > crowd_.deadline:
                results.errors.append("time budget exhausted")
                return
            await asyncio.sleep(rng.uniform(0.5, 1.5) * crowd_.think)
            in_steady_state = crowd_.all_open.is_set()
            choice = CHOICES[(n + i) % len(CHOICES)]
            latency = await session.choose(choice, args.timeout)
            if in_steady_state:
                results.latencies.append(latency)
                steady += 1
            else:
                results.ramp_latencies.append(latency)
            await session.drain(0.05)
    except Exception as exc:  # every failure is counted and shown, none stops the run
        results.errors.append(f"user {n}: {type(exc).__name__}: {exc}")
        crowd_.opened()  # a user that failed to open must not hold the steady state back
    finally:
        session.close()


class Crowd:
    """``users`` users against ``base``; the steady state starts once every page is open."""

    def __init__(
        self, base: str, users: int, interactions: int, args, think: float | None = None, server_pid: int = 0
    ):
        self.server_pid = server_pid
        self.base, self.users, self.interactions, self.args = base, users, interactions, args
        self.think = args.think if think is None else think
        # A user makes at most this many changes in all: its steady-state ones plus those during the ramp.
        self.interactions_cap = interactions + 1000
        self.results = Results()
        self.gate = asyncio.Semaphore(args.open_concurrency)
        self.all_open = asyncio.Event()
        self._open = 0
        self._started = time.perf_counter()
        self.deadline = time.monotonic() + args.max_seconds
        self.on_all_open: Callable[[], None] | None = None

    def opened(self) -> None:
        self._open += 1
        if self._open == self.users and not self.all_open.is_set():
            self.results.ramp_seconds = time.perf_counter() - self._started
            self.all_open.set()
            # The ramp's collector passes; the steady state's are counted from here.
            self.results.ramp_gc = gc_pauses(self.base, reset=True)
            self.results.steady_cpu_start = (time.perf_counter(), group_cpu(self.server_pid))
            if self.on_all_open is not None:
                self.on_all_open()

    async def run(self) -> Results:
        await asyncio.wait_for(
            asyncio.gather(*(user(n, self) for n in range(self.users))),
            self.args.max_seconds + self.args.timeout,
        )
        wall, cpu = self.results.steady_cpu_start
        self.results.steady_cpu = (time.perf_counter() - wall, group_cpu(self.server_pid) - cpu)
        await asyncio.sleep(1.0)  # let the close handshakes go out: the loop stops running after this
        return self.results


# --- the server ---------------------------------------------------------------------------------------------


def group_pids(pid: int) -> list[int]:
    """``pid`` and its children (forked workers)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def group_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children (forked workers)."""
    total = 0
    for p in group_pids(pid):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    return total


def group_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its children (forked workers)."""
    total = 0
    for p in group_pids(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def server_environ(pid: int) -> dict[str, str]:
    """The environment ``pid`` runs with (after its re-exec, if any: the process id stays)."""
    with contextlib.suppress(OSError):
        entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return dict(e.decode(errors="replace").split("=", 1) for e in entries if b"=" in e)
    return {}


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


def gc_pauses(base: str, reset: bool = False) -> dict:
    """The server's garbage-collector passes since the last reset (the memory probe's ``/__probe/gc``)."""
    with urllib.request.urlopen(f"{base}/__probe/gc?reset={int(reset)}", timeout=10) as resp:
        return json.loads(resp.read())


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--steady-interactions",
        "--interactions",
        type=int,
        default=10,
        help="filter changes per user once every session is open",
    )
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
    for flag, what in (
        ("--panel-busy", "Panel's process-wide busy indicator (without lumen_ext.serving.busy_indicators)"),
        ("--no-session-cleanup", "without lumen_ext.serving.session_cleanup (the leak it fixes)"),
        ("--no-memory-release", "without lumen_ext.serving.memory_release (allocators keep freed pages)"),
        (
            "--panel-change-path",
            "Panel's per-change path (without design_updates, tabulator_selection, websocket_writes)",
        ),
    ):
        parser.add_argument(flag, action="store_true", help=f"serve with {what}, for comparison")
    parser.add_argument(
        "--allocator",
        choices=["malloc", "pymalloc"],
        default="malloc",
        help="the server's --allocator (default: malloc, as lumen-ext serve's default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server with py-spy (raw collapsed stacks) during the steady state",
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="budget of each crowd phase")
    args = parser.parse_args()
    if args.users > 500:
        parser.error("at most 500 users")
    if args.procs > 1 and not args.redis:
        print("note: without --redis each worker has its own cache", file=sys.stderr)
    client_cpu = time.process_time()

    with tempfile.TemporaryDirectory(prefix="lumen-ext-load-") as tmp, contextlib.ExitStack() as stack:
        spec = write_project(Path(tmp), args.rows, shared=not args.per_session_source)
        # `lumen-ext serve` through the memory probe's launcher: the same server (plus a loopback-only
        # probe route), which can also leave one of lumen-ext's fixes out for a before/after comparison.
        port = free_port()
        cmd = [sys.executable, str(ROOT / "bench" / "memory_probe.py"), str(spec), "--no-data"]
        cmd += ["--session-lifetime", "1000", "--port", str(port), "--num-procs", str(args.procs)]
        cmd += ["--log-level", "warning", "--allocator", args.allocator]
        for flag in LEFT_OUT:
            if getattr(args, flag):
                cmd.append("--" + flag.replace("_", "-"))
        if args.redis:
            from support.local_redis import LocalRedis

            redis_server = LocalRedis(maxmemory="512mb").start()
            stack.callback(redis_server.stop)
            cmd += ["--redis-url", redis_server.url]
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            # The operator's PYTHONMALLOC would override --allocator: the run measures the option alone.
            env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
            server = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        stack.callback(lambda: (os.killpg(server.pid, signal.SIGTERM), server.wait(20)))
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        while log.read_text(errors="replace").count("lumen-ext: serving") < args.procs:
            if server.poll() is not None or time.monotonic() - started > 120:
                print(log.read_text(errors="replace"), file=sys.stderr)
                return 1
            time.sleep(0.2)
        pythonmalloc = server_environ(server.pid).get("PYTHONMALLOC", "unset")

        loop = asyncio.new_event_loop()
        # Every filter value once, quickly: the crowd then finds every state in the stage cache.
        warm = loop.run_until_complete(Crowd(base, 1, len(CHOICES), args, think=0.1).run())
        single = loop.run_until_complete(Crowd(base, 1, args.steady_interactions, args).run())

        def sessions_open() -> float:
            return sum(metric(t, "lumen_ext_sessions") for t in scrape(base, 4 * args.procs).values())

        def settle() -> None:
            t0 = time.monotonic()
            while (still := sessions_open()) > 0 and time.monotonic() - t0 < 60:
                time.sleep(0.5)
            print(
                f"[{time.monotonic() - started:6.1f} s] sessions closed ({still:.0f} left)", file=sys.stderr
            )
            # Session clean-up runs on the next IOLoop turn, the memory release 2 s after the last destroy and
            # Panel's own collection 5 s after it.
            time.sleep(7)

        settle()
        rss_before = group_rss(server.pid)
        cache_before = sum(metric(t, "lumen_ext_cache_bytes") for t in scrape(base, 4 * args.procs).values())
        peak = [rss_before]

        async def sample(stop: asyncio.Event) -> None:
            while not stop.is_set():
                peak.append(group_rss(server.pid))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        profiler: list[subprocess.Popen] = []

        def start_profiler() -> None:
            if args.profile and not profiler:
                threading.Thread(target=attach_profiler, daemon=True).start()

        def attach_profiler() -> None:
            # py-spy sometimes cannot find the interpreter of a busy process ("No python processes found"):
            # a few bounded retries.
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            for _ in range(5):
                spy = subprocess.Popen(
                    [py_spy, "record", "-p", str(server.pid), "--nonblocking", "-f", "raw", "-r", "200",
                     "-o", str(args.profile), "--subprocesses"],
                    stdout=subprocess.DEVNULL, stderr=args.profile.with_suffix(".log").open("wb"),
                )  # fmt: skip
                try:
                    spy.wait(3)
                except subprocess.TimeoutExpired:
                    profiler.append(spy)
                    return

        async def run_crowd() -> tuple[Results, float]:
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample(stop))
            t0 = time.perf_counter()
            crowd_ = Crowd(base, args.users, args.steady_interactions, args, server_pid=server.pid)
            gc_pauses(base, reset=True)
            crowd_.on_all_open = start_profiler  # the profile covers the steady state only
            try:
                return await crowd_.run(), time.perf_counter() - t0
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
                steady_gc = gc_pauses(base)
                for spy in profiler:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
                    spy.wait(60)
            else:
                many.errors += results.errors
            settle()
            rss_rounds.append(group_rss(server.pid))
        rss_after = rss_rounds[0]
        release = gc_pauses(base)["memory_release"]
        texts = scrape(base, 8 * args.procs)
        cache_after = sum(metric(t, "lumen_ext_cache_bytes") for t in texts.values())
        loop.close()
    client_cpu = time.process_time() - client_cpu

    mib = 1024 * 1024
    base_p95 = quantile(single.latencies, 0.95)

    def row(name: str, users: int, latencies: list[float], errors: int, opens: list[float], wall: str) -> str:
        p50, p95 = quantile(latencies, 0.5), quantile(latencies, 0.95)
        return (f"{name:<20}{users:>6}{len(latencies):>9}{errors:>8}{p50 * 1e3:>9.0f}{p95 * 1e3:>9.0f}"
                f"{p95 / base_p95:>9.2f}{quantile(opens, 0.5):>9.2f}{quantile(opens, 0.95):>9.2f}{wall:>8}")  # fmt: skip

    source = "per-session source" if args.per_session_source else "shared source"
    left_out = [f for f in LEFT_OUT if getattr(args, f)]
    print(f"server: {args.procs} process(es){' + redis' if args.redis else ''}; {args.rows:,} rows, {source}; "
          f"fixes left out: {', '.join(left_out) or 'none'}; --allocator {args.allocator} (PYTHONMALLOC {pythonmalloc}); think {args.think} s (uniform 0.5-1.5x); "
          f"{args.steady_interactions} steady-state changes per user; warm-up errors {len(warm.errors)}")  # fmt: skip
    print(f"{'phase':<20}{'users':>6}{'changes':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p95/base':>9}"
          f"{'open p50':>9}{'open p95':>9}{'wall s':>8}")  # fmt: skip
    print(row("single user", 1, single.latencies, len(single.errors), single.open_seconds, ""))
    print(row("crowd: during ramp", args.users, many.ramp_latencies, 0, many.open_seconds,
              f"{many.ramp_seconds:.1f}"))  # fmt: skip
    print(row("crowd: steady state", args.users, many.latencies, len(many.errors), [], f"{wall:.1f}"))
    print(f"server RSS: before {rss_before / mib:.0f} MiB, peak {max(peak) / mib:.0f} MiB, "
          f"after {rss_after / mib:.0f} MiB ({(rss_after / rss_before - 1) * 100:+.1f}% vs before); "
          f"stage cache {cache_before / mib:.1f} -> {cache_after / mib:.1f} MiB")  # fmt: skip
    if release:
        print(f"last memory release: RSS {release['rss_before'] / mib:.0f} -> {release['rss_after'] / mib:.0f} MiB "
              f"in {release['ms']:.0f} ms ({', '.join(f'{k} {v}' for k, v in release.items() if k.endswith('_ms'))})")  # fmt: skip
    if args.rounds > 1:
        print("RSS after each round: " + ", ".join(f"{r / mib:.0f} MiB" for r in rss_rounds))
    steady_wall, steady_cpu = many.steady_cpu
    print(f"server CPU in the steady state: {steady_cpu:.1f} s over {steady_wall:.1f} s "
          f"({steady_cpu / steady_wall * 100:.0f}% of one core), {steady_cpu / max(len(many.latencies), 1) * 1e3:.1f} ms "
          f"per change; {len(many.latencies) / steady_wall:.1f} changes/s")  # fmt: skip
    for phase, passes in (("ramp", many.ramp_gc), ("steady state", steady_gc)):
        gen2, young = passes["gen2"], passes["gen0"]["total_ms"] + passes["gen1"]["total_ms"]
        print(f"server garbage collector during the {phase} (process {passes['pid']}): {gen2['count']} full "
              f"passes, {gen2['total_ms']:.0f} ms in all, longest {gen2['max_ms']:.0f} ms; young passes {young:.0f} ms")  # fmt: skip
    print(f"load-test client CPU: {client_cpu:.1f} s (same machine as the server)")
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
