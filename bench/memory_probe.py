"""`lumen-ext serve` with a loopback-only memory probe, for the memory benchmark and tests (never shipped).

    python bench/memory_probe.py SPEC.yaml [--no-session-cleanup] [--panel-busy] [--no-memory-release]
                                 [--panel-change-path] [any lumen-ext serve option...]

Serves exactly as ``lumen-ext serve`` does, plus ``GET /__probe/memory``, which answers JSON about this
process after a full garbage collection: resident bytes, live Bokeh ``Document`` objects, live objects of
Lumen, Panel, Bokeh, HoloViews, hvPlot and param classes counted by type, and the size of every per-session
holder :func:`lumen_ext.serving.session_cleanup.holder_sizes` knows. Query options:

* ``trace=FRAMES``: also the bytes :mod:`tracemalloc` traces (tracing starts at the first such request);
  with ``growth=1``, the allocation sites that grew most since the previous ``growth`` request (slow);
* ``chain=1``: for up to two documents whose session was destroyed but which are still alive, the shortest
  chain of references from a module or class that keeps each one (what objgraph's ``find_backref_chain``
  gives; slow, seconds on a big heap);
* ``types=N``: how many types to list (default 60).

``GET /__probe/gc`` answers the garbage collector's passes per generation (count, total and longest pause)
since the last ``?reset=1``, without collecting: what the load test reports for its steady state.

``--no-session-cleanup`` serves without :mod:`lumen_ext.serving.session_cleanup`, to measure the leak it fixes;
``--panel-busy`` without :mod:`lumen_ext.serving.busy_indicators` (Panel's process-wide busy broadcast) and
``--no-memory-release`` without :mod:`lumen_ext.serving.memory_release` and ``--panel-change-path`` without this
session's per-change fixes (:mod:`~lumen_ext.serving.design_updates`, :mod:`~lumen_ext.serving.tabulator_selection`,
:mod:`~lumen_ext.serving.websocket_writes`), for the load test's comparisons.
Run as a script, it re-executes itself under ``PYTHONMALLOC=malloc`` exactly when `lumen-ext serve` would
(:mod:`lumen_ext.serving.allocator`; ``--allocator pymalloc`` or a ``PYTHONMALLOC`` already set opt out).
The route exists only in this launcher: a debugging endpoint has no place on a real server. It refuses any
client that is not on the loopback interface, whatever ``--address`` says.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import time
import tracemalloc
import types
import weakref
from collections import Counter
from pathlib import Path

from tornado.web import RequestHandler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it

PROBE_PATH = "/__probe/memory"
GC_PROBE_PATH = "/__probe/gc"
# Objects of these packages are counted by type; everything else only shows up in the RSS.
COUNTED_PACKAGES = ("lumen", "lumen_ext", "panel", "bokeh", "holoviews", "hvplot", "param")
_previous_snapshot: list[tracemalloc.Snapshot] = []


def rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


def live_objects_by_type() -> Counter[str]:
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        cls = type(obj)
        module = cls.__dict__.get("__module__") if isinstance(cls.__dict__.get("__module__"), str) else ""
        if module.split(".", 1)[0] in COUNTED_PACKAGES:
            counts[f"{module}.{cls.__qualname__}"] += 1
    return counts


def tracemalloc_report(frames: int, growth: bool, limit: int = 25) -> dict:
    if not tracemalloc.is_tracing():
        # Started on demand, not at launch: tracing the imports makes start-up minutes long on this machine,
        # and growth between two later snapshots is all that tells a leak.
        tracemalloc.start(frames)
    current, peak = tracemalloc.get_traced_memory()
    report: dict = {"tracing": True, "traced_bytes": current, "traced_peak": peak}
    if not growth:
        return report
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    report["growth"] = [
        {
            "size_diff": stat.size_diff,
            "count_diff": stat.count_diff,
            "traceback": [f"{f.filename}:{f.lineno}" for f in stat.traceback][-6:],
        }
        for stat in (
            snapshot.compare_to(_previous_snapshot[0], "traceback")[:limit] if _previous_snapshot else []
        )
    ]
    _previous_snapshot[:] = [snapshot]
    return report


_destroyed_documents: weakref.WeakSet = weakref.WeakSet()


def _remember_destroyed(session_context) -> None:
    _destroyed_documents.add(session_context._document)


def _describe(obj) -> str:
    if isinstance(obj, dict):
        keys = list(obj)[:4]
        return f"dict(len={len(obj)}, keys={keys!r:.120})"
    if isinstance(obj, (list, tuple, set)):
        return f"{type(obj).__name__}(len={len(obj)})"
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return f"bound method {obj.__func__.__qualname__} of {type(obj.__self__).__qualname__}"
    if isinstance(obj, types.CellType):
        return "cell"
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def retention_chain(target, max_depth: int = 30) -> list[str]:
    """Shortest reference path from a module or class to ``target``, as objgraph's ``find_backref_chain``.

    Builds the reverse reference graph of every object the collector tracks once, then searches it breadth
    first; weak references, frames (this request's own) and the search's bookkeeping are not edges.
    """
    objects = gc.get_objects()
    by_id = {id(o): o for o in objects}
    referrers: dict[int, list[int]] = {}
    for obj in objects:
        if isinstance(obj, types.FrameType | weakref.ref) or obj is objects or obj is by_id:
            continue
        for ref in gc.get_referents(obj):
            referrers.setdefault(id(ref), []).append(id(obj))
    roots = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None} | {
        i for i, o in by_id.items() if isinstance(o, type | types.ModuleType)
    }
    parent: dict[int, int | None] = {id(target): None}
    frontier = [id(target)]
    for _ in range(max_depth):
        nxt = []
        for oid in frontier:
            for rid in referrers.get(oid, ()):
                if rid in parent or rid == id(referrers):
                    continue
                parent[rid] = oid
                if rid in roots:
                    chain, cur = [], rid
                    while cur is not None:
                        chain.append(_describe(by_id.get(cur, target)))
                        cur = parent[cur]
                    return chain
                nxt.append(rid)
        frontier = nxt
    return ["no root found"]


class MemoryProbeHandler(RequestHandler):
    def get(self) -> None:
        if self.request.remote_ip not in ("127.0.0.1", "::1"):
            self.set_status(403)
            return
        from bokeh.document import Document

        from lumen_ext.serving.session_cleanup import holder_sizes

        gc.collect()
        types = live_objects_by_type()
        report = {
            "pid": os.getpid(),
            "rss": rss_bytes(),
            "documents": sum(isinstance(o, Document) for o in gc.get_objects()),
            "holders": holder_sizes(),
            "types": dict(types.most_common(int(self.get_argument("types", "60")))),
            "type_totals": sum(types.values()),
            "gc_tracked": len(gc.get_objects()),
            "gc_frozen": gc.get_freeze_count(),
        }
        if self.get_argument("chain", "0") == "1":
            report["destroyed_alive"] = len(_destroyed_documents)
            report["chains"] = [retention_chain(doc) for doc in list(_destroyed_documents)[:2]]
        if frames := int(self.get_argument("trace", "0")):
            report["tracemalloc"] = tracemalloc_report(frames, self.get_argument("growth", "0") == "1")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(report))


class GcPauses:
    """Durations of the garbage collector's passes, per generation, from :data:`gc.callbacks`."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def report(self, reset: bool) -> dict:
        out = {
            f"gen{gen}": {
                "count": len(p),
                "total_ms": round(sum(p) * 1e3, 1),
                "max_ms": round(max(p, default=0) * 1e3, 1),
            }
            for gen, p in self.pauses.items()
        }
        if reset:
            for p in self.pauses.values():
                p.clear()
        return out


GC_PAUSES = GcPauses()


class GcPausesHandler(RequestHandler):
    """``GET /__probe/gc[?reset=1]``: the collector's passes since the last reset (no collection of its own)."""

    def get(self) -> None:
        if self.request.remote_ip not in ("127.0.0.1", "::1"):
            self.set_status(403)
            return
        from lumen_ext.serving import memory_release

        report = {"pid": os.getpid(), **GC_PAUSES.report(self.get_argument("reset", "0") == "1")}
        report["memory_release"] = memory_release.last_release
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(report))


def main(argv: list[str]) -> int:
    from lumen_ext.cli import main as cli_main
    from lumen_ext.serving import endpoints

    # Baselines for comparison: the hooks `lumen-ext serve --without` leaves out, Lumen's and Panel's own behaviour.
    baselines = {
        "--no-session-cleanup": ["serving.session-release"],  # the leak as it was
        "--panel-busy": ["serving.busy"],  # Panel's process-wide busy broadcast
        "--no-memory-release": ["serving.memory-release"],  # allocator memory kept after sessions close
        # Panel's per-change path as it is, for the load test's CPU per change
        "--panel-change-path": [
            "serving.design-updates",
            "serving.websocket-writes",
            "serving.tabulator.selection",
        ],
    }
    without = [f"--without={hook}" for flag, hooks in baselines.items() if flag in argv for hook in hooks]
    argv = [a for a in argv if a not in baselines] + without

    original_routes = endpoints.routes

    def routes_with_probe(*args, **kwargs):
        import panel as pn  # imported by now: serve calls this after its offline set-up

        pn.state.on_session_destroyed(_remember_destroyed)
        return [
            *original_routes(*args, **kwargs),
            (PROBE_PATH, MemoryProbeHandler, {}),
            (GC_PROBE_PATH, GcPausesHandler, {}),
        ]

    endpoints.routes = routes_with_probe
    gc.callbacks.append(GC_PAUSES)
    return cli_main(["serve", *argv])


if __name__ == "__main__":
    from lumen_ext.serving import allocator

    # As `lumen-ext serve` does for its own command line (it never re-executes a caller running it in-process).
    choice = sys.argv[sys.argv.index("--allocator") + 1] if "--allocator" in sys.argv else "malloc"
    allocator.reexec_for_malloc(choice, [sys.executable, *sys.orig_argv[1:]])
    sys.exit(main(sys.argv[1:]))
