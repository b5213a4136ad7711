"""Destroyed sessions leave nothing behind in a real `lumen-ext serve` (lumen_ext.serving.session_cleanup).

The server is ``bench/memory_probe.py``: `lumen-ext serve` plus a loopback-only probe that reports, after a
full garbage collection, the live Bokeh documents, live objects by type and the size of each container known
to hold per-session objects. Sessions are real Bokeh WebSocket sessions (``tests/support/bokeh_client.py``)
that change a filter, then close; Bokeh destroys them after the session lifetime. The assertions are about
object counts and holders, never RSS or timing. The same run without the fix shows that the test sees the leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.paths import REPO

from lumen_ext.serving.ports import free_port

pytestmark = pytest.mark.slow

SESSIONS = 4  # bounded: each one is a real page load, document and WebSocket
REGIONS = ["East", "North", "South", "West"]
# A shared source, which the pipelines of every session watch, and a variable (per-session Variables).
SPEC = """\
variables:
  label:
    type: constant
    default: Sales
sources:
  sales:
    type: file
    shared: true
    tables:
      sales: sales.csv
pipelines:
  by_product:
    source: sales
    table: sales
    filters:
      - type: widget
        field: region
        multi: true
    transforms:
      - type: aggregate
        by: [product]
        method: sum
layouts:
  - title: Sales
    pipeline: by_product
    views:
      - type: table
"""


@dataclass
class ProbedServer:
    url: str
    log: Path

    def probe(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/__probe/memory?types=400", timeout=60) as resp:
            return json.loads(resp.read())

    def open_sessions(self) -> int:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=30) as resp:
            text = resp.read().decode()
        return sum(int(float(v)) for v in re.findall(r"^lumen_ext_sessions\{[^}]*\} (\S+)$", text, re.M))


@contextlib.contextmanager
def probed_server(folder: Path, *extra: str) -> Iterator[ProbedServer]:
    port = free_port()
    log = folder / f"serve-{port}.log"
    cmd = [sys.executable, str(REPO / "bench" / "memory_probe.py"), str(folder / "sales.yaml"), "--no-data"]
    cmd += ["--port", str(port), "--session-lifetime", "300", "--log-level", "warning", *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "lumen-ext: serving" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield ProbedServer(f"http://127.0.0.1:{port}", log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def visit(server: ProbedServer, sessions: int) -> None:
    """``sessions`` tabs open, each changes the filter once, all close; returns once Bokeh destroyed them."""
    from support.bokeh_client import Session

    async def one(n: int) -> None:
        session = Session(server.url, "sales")
        try:
            await session.open(60)
            await session.choose(REGIONS[: 1 + n % len(REGIONS)], 60)
        finally:
            session.close()

    async def crowd() -> None:
        await asyncio.gather(*(one(n) for n in range(sessions)))
        await asyncio.sleep(0.5)  # let the close frames go out before the loop stops

    asyncio.run(crowd())
    deadline = time.monotonic() + 30
    while server.open_sessions() > 0:
        assert time.monotonic() < deadline, "Bokeh did not destroy the closed sessions within 30 s"
        time.sleep(0.3)
    time.sleep(1.0)  # the clean-up runs on the IOLoop's next turn after the destroy callbacks


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    import numpy as np
    import pandas as pd

    folder = tmp_path_factory.mktemp("memory")
    rng = np.random.default_rng(4)
    rows = 500
    pd.DataFrame(
        {
            "region": rng.choice(REGIONS, rows),
            "product": rng.choice(["apple", "pear", "plum"], rows),
            "qty": rng.integers(1, 20, rows),
        }
    ).to_csv(folder / "sales.csv", index=False)
    (folder / "sales.yaml").write_text(SPEC)
    return folder


def before_and_after(project: Path, *extra: str) -> tuple[dict, dict]:
    with probed_server(project, *extra) as server:
        visit(server, 1)  # warm-up: the shared source, imports and Panel's one-off objects
        before = server.probe()
        visit(server, SESSIONS)
        after = server.probe()
    return before, after


def grown(before: dict, after: dict, section: str) -> dict[str, int]:
    keys = set(before[section]) | set(after[section])
    changes = {k: after[section].get(k, 0) - before[section].get(k, 0) for k in keys}
    return {k: v for k, v in changes.items() if v}


def test_destroyed_sessions_release_every_holder(project):
    before, after = before_and_after(project)
    # Every container that held a session's objects is back to its size before the sessions.
    assert grown(before, after, "holders") == {}
    assert before["holders"]["lumen.global_sources[sales].watchers"] > 0  # the probe does see the source
    assert before["gc_frozen"] > 100_000  # serve froze its start-up heap (lumen_ext.serving.gc_freeze)
    # No session outlives its destruction, except at most the one whose context Panel's periodic
    # busy-indicator clean-up task captured (pn.state._busy_cleanup_scheduled): one, however many sessions.
    assert after["documents"] <= before["documents"] + 1
    for cls in ("lumen.pipeline.Pipeline", "lumen.layout.Layout", "lumen.dashboard.Dashboard"):
        assert after["types"].get(cls, 0) <= before["types"].get(cls, 0) + 1, cls


def test_without_the_release_every_session_stays(project):
    """The control: the same visits on the unfixed server keep one document per session, and the test sees it."""
    before, after = before_and_after(project, "--no-session-cleanup")
    assert after["documents"] - before["documents"] >= SESSIONS
    growth = grown(before, after, "holders")
    assert growth["lumen.state._pipelines"] == SESSIONS
    assert growth["lumen.state._variables"] == SESSIONS
    assert growth["lumen.global_sources[sales].watchers"] > 0
