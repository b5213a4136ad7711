"""Memory per extra session over a shared 10M-row DuckDB source, and RSS before, during and after the sessions.

    python bench/bench_memory.py [--sessions 1 10 40] [--rows 10000000] [--no-session-cleanup] [--no-trace]
                                 [--max-seconds 1200]

The server is `lumen-ext serve` through ``bench/memory_probe.py`` (its loopback-only probe reports RSS, live
documents and :mod:`tracemalloc`'s traced bytes after a full garbage collection). The spec: a ``duckdb``
source with ``shared: true`` over the synthetic rides Parquet file (``lumen-ext data``), a multi-select filter
on ``pickup_borough``, ``aggregate`` and ``sort`` transforms, a table. Each session is a real Bokeh WebSocket
client (``tests/support/bokeh_client.py``) that loads the page and changes the filter once, as a visitor does.

For each count N, sessions open one after another and stay open; after each one the probe is read, so every
session gives one RSS delta and one traced-bytes delta (the median is the "per extra session" figure; the
mean is (during - before) / N). Then all N close, Bokeh destroys them (session lifetime 0.5 s) and the probe
is read again: "after" should come back to "before". A warm-up session first loads the shared source, so
the table measures what one more visitor costs. Target (issue 4): at most 5 MB per extra session.
The server runs on `lumen-ext serve`'s default allocator (since session 4, ``PYTHONMALLOC=malloc`` on glibc:
:mod:`lumen_ext.serving.allocator`); a ``PYTHONMALLOC`` set in the environment is passed on and respected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it
sys.path.insert(0, str(ROOT / "tests"))  # support.*: helpers shared with the tests, not shipped

from lumen_ext.serving.ports import free_port  # noqa: E402

BOROUGHS = ["Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island"]
SPEC = """\
sources:
  rides:
    type: duckdb
    shared: true
    tables:
      rides: "SELECT * FROM read_parquet('{parquet}')"
pipelines:
  fares:
    source: rides
    table: rides
    filters:
      - type: widget
        field: pickup_borough
        multi: true
    transforms:
      - type: aggregate
        by: [service, payment]
        columns: [fare_usd, tip_usd]
        method: sum
      - type: sort
        by: [fare_usd]
        ascending: false
layouts:
  - title: Fares
    pipeline: fares
    views:
      - type: table
"""
MIB = 1024 * 1024


class Server:
    def __init__(self, spec: Path, policy: Path, cleanup: bool, log: Path, trace: bool = True):
        self.trace = trace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, str(ROOT / "bench" / "memory_probe.py"), str(spec), "--no-data"]
        cmd += ["--policy", str(policy)]
        cmd += ["--port", str(self.port), "--session-lifetime", "500", "--log-level", "warning"]
        if not cleanup:
            cmd.append("--no-session-cleanup")
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while "lumen-ext: serving" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + self.log.read_text(errors="replace"))
            time.sleep(0.3)

    def probe(self) -> dict:
        # trace=1: one frame is all a total needs, and keeps tracing's overhead small. Without it, tracemalloc
        # never starts and RSS is the process's own (tracing adds its bookkeeping to every allocation).
        query = "types=0&trace=1" if self.trace else "types=0"
        with urllib.request.urlopen(f"{self.url}/__probe/memory?{query}", timeout=120) as resp:
            return json.loads(resp.read())

    def open_sessions(self) -> int:
        import re

        with urllib.request.urlopen(f"{self.url}/metrics", timeout=30) as resp:
            text = resp.read().decode()
        return sum(int(float(v)) for v in re.findall(r"^lumen_ext_sessions\{[^}]*\} (\S+)$", text, re.M))

    def settle(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.open_sessions() > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.5)  # the clean-up runs on the IOLoop turn after the destroy callbacks

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


async def open_session(url: str, n: int, timeout: float):
    from support.bokeh_client import Session

    session = Session(url, "rides")
    await session.open(timeout)
    await session.choose(BOROUGHS[: 1 + n % len(BOROUGHS)], timeout)
    await session.drain(0.2)
    return session


def traced(probe: dict) -> float:
    """Bytes tracemalloc traces, or NaN when the run does not trace."""
    return probe.get("tracemalloc", {}).get("traced_bytes", float("nan"))


def measure(server: Server, count: int, timeout: float) -> dict:
    """Open ``count`` sessions one by one (probing after each), close them all, probe once they are gone."""
    loop = asyncio.new_event_loop()
    before = server.probe()
    rss_deltas, traced_deltas, sessions = [], [], []
    previous = before
    try:
        for n in range(count):
            sessions.append(loop.run_until_complete(open_session(server.url, n, timeout)))
            now = server.probe()
            rss_deltas.append(now["rss"] - previous["rss"])
            traced_deltas.append(traced(now) - traced(previous))
            previous = now
        during = previous
    finally:
        for session in sessions:
            session.close()
        loop.run_until_complete(asyncio.sleep(0.5))  # the close frames go out while the loop runs
        loop.close()
    server.settle()
    after = server.probe()
    return {
        "count": count,
        "before": before,
        "during": during,
        "after": after,
        "rss_median": statistics.median(rss_deltas),
        "traced_median": statistics.median(traced_deltas),
        "rss_mean": (during["rss"] - before["rss"]) / count,
        "traced_mean": (traced(during) - traced(before)) / count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--rows", type=int, default=10_000_000, help="synthetic rides rows (1M or 10M)")
    parser.add_argument(
        "--no-session-cleanup", action="store_true", help="serve without lumen_ext.serving.session_cleanup"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds one page load or change may take"
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="leave tracemalloc off: RSS per session without tracing's overhead (traced columns show nan)",
    )
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="budget of the whole run")
    args = parser.parse_args()
    if max(args.sessions) > 200:
        parser.error("at most 200 sessions at a time")

    from lumen_ext.data import synthetic

    parquet = synthetic.ensure_synthetic(args.rows)
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="lumen-ext-memory-") as tmp:
        spec = Path(tmp) / "rides.yaml"
        parquet = Path(parquet).resolve()
        spec.write_text(SPEC.format(parquet=parquet))
        # The data stays where `lumen-ext data` put it; the operator's policy allows that directory.
        policy = Path(tmp) / "policy.toml"
        policy.write_text(f"allowed_dirs = [{json.dumps(str(parquet.parent))}]\n")
        server = Server(
            spec,
            policy,
            cleanup=not args.no_session_cleanup,
            log=Path(tmp) / "server.log",
            trace=not args.no_trace,
        )
        try:
            server.wait_ready(180)
            warm = asyncio.new_event_loop()
            warm.run_until_complete(open_session(server.url, 0, args.timeout)).close()
            warm.run_until_complete(asyncio.sleep(0.5))
            warm.close()
            server.settle()
            server.probe()  # starts tracemalloc (unless --no-trace): growth from here is what sessions allocate
            for count in args.sessions:
                if time.monotonic() - started > args.max_seconds:
                    print(f"time budget exhausted before {count} sessions", file=sys.stderr)
                    break
                results.append(measure(server, count, args.timeout))
                print(f"[{time.monotonic() - started:6.1f} s] {count} session(s) measured", file=sys.stderr)
        finally:
            server.stop()

    cleanup = "off (--no-session-cleanup)" if args.no_session_cleanup else "on"
    tracing = "off (--no-trace)" if args.no_trace else "on"
    print(
        f"shared duckdb source over {args.rows:,} rows; session clean-up {cleanup}; tracemalloc {tracing}; "
        "sizes in MiB"
    )
    header = (
        f"{'sessions':>8} {'rss/session':>11} {'traced/session':>14} {'rss mean':>8} {'traced mean':>11} "
        f"{'rss before':>10} {'during':>7} {'after':>7} {'after/before':>12} {'traced before':>13} {'after':>6} "
        f"{'docs before':>11} {'after':>6}"
    )
    print(header)
    for r in results:
        b, d, a = r["before"], r["during"], r["after"]
        print(
            f"{r['count']:>8} {r['rss_median'] / MIB:>11.2f} {r['traced_median'] / MIB:>14.2f} "
            f"{r['rss_mean'] / MIB:>8.2f} {r['traced_mean'] / MIB:>11.2f} {b['rss'] / MIB:>10.0f} "
            f"{d['rss'] / MIB:>7.0f} {a['rss'] / MIB:>7.0f} {a['rss'] / b['rss']:>12.3f} "
            f"{traced(b) / MIB:>13.1f} {traced(a) / MIB:>6.1f} "
            f"{b['documents']:>11} {a['documents']:>6}"
        )
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
