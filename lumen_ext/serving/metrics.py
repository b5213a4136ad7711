"""Sessions, interactions and their latency, counted per process and rendered as Prometheus text.

An *interaction* is one batch of browser changes to one Panel component (a widget moved, a tab chosen),
as Panel applies it in ``Syncable._change_event``: its latency is the server time spent applying it,
which includes every Python callback it triggers (filter, pipeline recomputation, view re-render) but
neither the network nor Panel's 50 ms debounce before it (``Syncable._debounce``; Bokeh acknowledges the
``PATCH-DOC`` before any of this runs, so timing that message would measure nothing). ``install_hooks``
wraps that method and registers Panel's session callbacks; both must happen before the server starts.

Every figure is per process: behind ``--num-procs`` or a load balancer, scrape each process (the
``process`` label tells them apart) and sum in the query.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "METRICS",
    "LatencyHistogram",
    "ServerMetrics",
    "count_sessions",
    "render_prometheus",
    "timing_change_event",
]

# Seconds; a widget change should feel instant below 0.1 s and is broken above 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1  # first bucket with seconds <= bound
        self.sum += seconds
        self.count += 1


class ServerMetrics:
    """Counters of one server process; thread-safe (callbacks may run on Panel's thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions_created = 0
        self.sessions_destroyed = 0
        self.interactions = 0
        self.interaction_errors = 0
        self.latency = LatencyHistogram()

    # Bokeh checks callbacks' parameter names: it must be exactly `session_context`.
    def session_created(self, session_context: Any) -> None:
        with self._lock:
            self.sessions_created += 1

    def session_destroyed(self, session_context: Any) -> None:
        with self._lock:
            self.sessions_destroyed += 1

    def interaction(self, seconds: float, failed: bool = False) -> None:
        with self._lock:
            self.interactions += 1
            self.interaction_errors += failed
            self.latency.observe(seconds)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "sessions_created": self.sessions_created,
                "sessions_destroyed": self.sessions_destroyed,
                "interactions": self.interactions,
                "interaction_errors": self.interaction_errors,
                "latency_buckets": list(
                    zip((*self.latency.buckets, math.inf), self.latency.counts, strict=True)
                ),
                "latency_sum": self.latency.sum,
                "latency_count": self.latency.count,
            }


METRICS = ServerMetrics()


def timing_change_event(original: Any, settings: Any) -> Any:
    """``Syncable._change_event`` that times each interaction of a served session in :data:`METRICS`."""

    def _change_event(self: Any, doc: Any) -> None:
        started = time.perf_counter()
        failed = True
        try:
            original(self, doc)
            failed = False
        finally:
            if doc is not None and doc.session_context is not None:  # a served session, not a notebook
                METRICS.interaction(time.perf_counter() - started, failed)

    return _change_event


def count_sessions(settings: Any) -> None:
    """Count sessions created and destroyed in :data:`METRICS` (the hooks registry calls it once per process)."""
    import panel as pn

    pn.state.on_session_created(METRICS.session_created)
    pn.state.on_session_destroyed(METRICS.session_destroyed)


def render_prometheus(
    metrics: Mapping[str, Any],
    live_sessions: Mapping[str, int],
    cache_stats: Mapping[str, Any],
    view_stats: Mapping[str, Mapping[str, int]] | None = None,
    cache_gauges: Mapping[str, int] | None = None,
    client_stats: Mapping[str, int] | None = None,
) -> str:
    """Prometheus text exposition (format 0.0.4) of one process's figures.

    ``view_stats``: counters of the plot patching's memos by name (``plot_memo``: HoloViews objects reused,
    ``drawings``: frames set without HoloViews' update), rendered as ``lumen_ext_views_<name>_<counter>_total``.
    ``cache_gauges``: e.g. ``second_tier_up`` (1 while the shared tier answers), as ``lumen_ext_cache_<name>``.
    ``client_stats``: :func:`lumen_ext.serving.client_limits.inbox_stats`, as ``lumen_ext_client_messages_<name>_total``.
    """
    proc = f'process="{os.getpid()}"'
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            out.append(f"{name}{{{proc}{',' + labels if labels else ''}}} {_number(value)}")

    family(
        "lumen_ext_sessions",
        "gauge",
        "Open Bokeh sessions, per app.",
        [(f'app="{_escape(app)}"', n) for app, n in sorted(live_sessions.items())],
    )
    family(
        "lumen_ext_sessions_created_total",
        "counter",
        "Sessions created.",
        [("", metrics["sessions_created"])],
    )
    family(
        "lumen_ext_sessions_destroyed_total",
        "counter",
        "Sessions destroyed.",
        [("", metrics["sessions_destroyed"])],
    )
    family(
        "lumen_ext_interactions_total",
        "counter",
        "Browser changes applied (one per component and debounced batch).",
        [("", metrics["interactions"])],
    )
    family(
        "lumen_ext_interaction_errors_total",
        "counter",
        "Browser changes whose handling raised.",
        [("", metrics["interaction_errors"])],
    )
    cumulative, buckets = 0, []
    for bound, count in metrics["latency_buckets"]:
        cumulative += count
        buckets.append((f'le="{"+Inf" if math.isinf(bound) else _number(bound)}"', cumulative))
    name = "lumen_ext_interaction_seconds"
    out.append(f"# HELP {name} Server time to apply one browser change, callbacks included.")
    out.append(f"# TYPE {name} histogram")
    out.extend(f"{name}_bucket{{{proc},{labels}}} {_number(v)}" for labels, v in buckets)
    out.append(f"{name}_sum{{{proc}}} {_number(metrics['latency_sum'])}")
    out.append(f"{name}_count{{{proc}}} {_number(metrics['latency_count'])}")

    tiers = {tier: s for tier, s in cache_stats.items() if isinstance(s, Mapping)}
    for stat, kind, help_text in (
        ("hits", "counter", "Stage cache hits."),
        ("misses", "counter", "Stage cache misses."),
        ("evictions", "counter", "Stage cache entries evicted for room."),
        ("errors", "counter", "Stage cache tier failures (served as misses)."),
        ("entries", "gauge", "Stage cache entries (Redis: entries this process wrote)."),
        ("bytes", "gauge", "Stage cache size in bytes (Redis: bytes this process wrote)."),
    ):
        samples = [(f'tier="{_escape(t)}"', s[stat]) for t, s in sorted(tiers.items()) if stat in s]
        suffix = "_total" if kind == "counter" else ""
        family(f"lumen_ext_cache_{stat}{suffix}", kind, help_text, samples)
    counters = [(k, v) for k, v in cache_stats.items() if isinstance(v, int | float)]
    for stat, value in sorted(counters):
        family(
            f"lumen_ext_cache_{stat}_total",
            "counter",
            f"Stage cache {stat.replace('_', ' ')}.",
            [("", value)],
        )
    for gauge, value in sorted((cache_gauges or {}).items()):
        family(f"lumen_ext_cache_{gauge}", "gauge", f"Stage cache {gauge.replace('_', ' ')}.", [("", value)])
    for group, counters in sorted((view_stats or {}).items()):
        for stat, value in sorted(counters.items()):
            family(
                f"lumen_ext_views_{group}_{stat}_total",
                "counter",
                f"Plot {group.replace('_', ' ')} {stat}.",
                [("", value)],
            )
    help_of = {
        "coalesced": "Browser messages dropped because a later one set the same properties.",
        "dropped_after_close": "Browser messages dropped because their connection had closed.",
        "overflow_closes": "Connections closed for sending faster than they were served.",
    }
    for stat, value in sorted((client_stats or {}).items()):
        family(f"lumen_ext_client_messages_{stat}_total", "counter", help_of.get(stat, stat), [("", value)])
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
