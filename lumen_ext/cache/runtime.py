"""Run Lumen pipelines through the stage cache: the process's store and the replacement ``_compute_data``.

The hooks table starts the store (:func:`start`) and swaps ``lumen.pipeline.Pipeline._compute_data`` for
:func:`cached_compute_data` at run time (site-packages is never edited). Everything else in Lumen is untouched: ``_update_data`` still decides
when to recompute, syncs references, sets ``Pipeline.data`` and fires ``on_update``; only *how* the data
is computed changes. Subclasses that override ``_compute_data`` keep their own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lumen_ext import hooks
from lumen_ext.cache import rollup
from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.stage_plan import Plan, describe_key
from lumen_ext.cache.stages import build_plan
from lumen_ext.cache.store import StageStore

__all__ = [
    "StageRun",
    "active_store",
    "cached_compute_data",
    "caching_compute_data",
    "start",
    "stats",
    "stop",
]

log = logging.getLogger("lumen_ext.cache")

COMPUTE_DATA = "lumen.pipeline:Pipeline._compute_data"

_lock = threading.Lock()
_store: StageStore | None = None

# Attribute set on a Pipeline: (key, frame) of the data this module last computed for it, so a chained
# pipeline can tell which key its parent's current `data` has.
RESULT_ATTR = "_lumen_ext_result"
# Attribute set on a Pipeline: list[StageRun] of its last computation, for `lumen-ext explain --run`.
RUNS_ATTR = "_lumen_ext_runs"
# A plan built for this pipeline's current state by plan_answered_in_memory, used once by its next computation.
PLAN_ATTR = "_lumen_ext_plan"


@dataclass
class StageRun:
    name: str
    where: str
    key: str | None
    outcome: str  # "hit", "computed" or "skipped" (a stage below was a hit)
    seconds: float = 0.0
    rows: int | None = None
    sql: str | None = field(default=None, repr=False)


def start(settings: Any) -> StageStore:
    """The process-wide stage store for ``settings.cache``: the one running, unless its configuration differs,
    in which case it is replaced (and emptied)."""
    global _store
    config: CacheConfig = settings.cache
    with _lock:
        if _store is None or config != _store.config:
            _store = StageStore(config)
        return _store


def stop() -> None:
    """Drop the store (Lumen's own ``_compute_data`` is back once the hooks on it are disabled)."""
    global _store
    with _lock:
        _store = None


def caching_compute_data(original: Any, settings: Any) -> Any:
    """The replacement of ``Pipeline._compute_data``: :func:`cached_compute_data`."""
    return cached_compute_data


def active_store() -> StageStore | None:
    return _store


def stats() -> dict[str, Any]:
    """Entries, bytes, hits, misses and evictions per tier, and the rollup cubes built (empty when not installed)."""
    if _store is None:
        return {}
    cubes = {f"rollup_{name}": value for name, value in rollup.stats().items()}
    return {**_store.stats(), **cubes}


def original_compute_data(pipeline: Any) -> Any:
    """Lumen's own computation, bypassing the stage cache (used by tests and the benchmark)."""
    return hooks.original(COMPUTE_DATA)(pipeline)


def parent_key(pipeline: Any) -> str | None:
    """Key of the parent's current data, or None when it was not computed through the cache."""
    parent = pipeline.pipeline
    recorded = getattr(parent, RESULT_ATTR, None)
    if recorded is None or recorded[1] is not parent.data:
        return None
    return recorded[0]


def _parent_needs_update(pipeline: Any) -> bool:
    """Whether Lumen would bring a parent up to date first: an empty parent, or a stale one in the chain."""
    if pipeline.pipeline is None:
        return False
    pipelines, current = [], pipeline
    while current.pipeline is not None:
        pipelines.append(current.pipeline)
        current = current.pipeline
    return pipeline.pipeline.data is None or any(p._stale for p in pipelines)


def _lumen_rejects(pipeline: Any) -> bool:
    """SQL transforms on a source without SQL: Lumen's own computation raises the error for it."""
    return pipeline.pipeline is None and bool(pipeline.sql_transforms) and not pipeline.source._supports_sql


def _plan(pipeline: Any, store: StageStore) -> Plan:
    return build_plan(pipeline, store, parent_key(pipeline) if pipeline.pipeline is not None else None)


def plan_answered_in_memory(pipeline: Any) -> Plan | None:
    """The plan of ``pipeline``'s current state when memory answers it, else None.

    Memory answers when its tier holds the whole result (one lookup), or the rollup cube the source query is
    answered from (a query over the cube's few rows, then the remaining transforms over the aggregate). The plan
    is handed to the next ``_compute_data`` of this pipeline (:data:`PLAN_ATTR`), so it is not built twice.
    """
    store = _store
    if store is None or _lumen_rejects(pipeline) or _parent_needs_update(pipeline):
        return None
    plan = _plan(pipeline, store)
    if plan.final_key is None:
        return None
    first = plan.stages[0]
    if not store.memory.holds(plan.final_key) and not (first.from_memory is not None and first.from_memory()):
        return None
    setattr(pipeline, PLAN_ATTR, plan)
    return plan


def cached_compute_data(self: Any) -> Any:
    """Drop-in for ``Pipeline._compute_data`` (pipeline.py:370-416) that reuses cached stages."""
    from lumen.util import collect_lazy, to_backend

    planned = self.__dict__.pop(PLAN_ATTR, None)
    store = _store
    if store is None:  # uninstalled while a session still holds the bound method
        return original_compute_data(self)
    if _lumen_rejects(self):
        return original_compute_data(self)  # raises Lumen's own ValidationError
    if _parent_needs_update(self):
        # As Lumen does: bring a stale or empty parent up to date before reading its data.
        self.pipeline._update_data(force=True)
        planned = None

    plan = planned if planned is not None else _plan(self, store)
    data, runs = run_plan(plan, store)
    result = to_backend(collect_lazy(data), self.dataframe_backend)
    setattr(self, RESULT_ATTR, (plan.final_key, result))
    setattr(self, RUNS_ATTR, runs)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "pipeline %s: %s",
            self.name,
            ", ".join(f"{r.name}={r.outcome}({describe_key(r.key)})" for r in runs),
        )
    return result


def run_plan(plan: Plan, store: StageStore) -> tuple[Any, list[StageRun]]:
    """Execute ``plan`` from the deepest stage whose result is cached."""
    stages = plan.stages
    start, data = 0, None
    for i in range(len(stages) - 1, -1, -1):
        key = stages[i].key
        if key is None:
            continue
        t0 = time.perf_counter()
        hit = store.get(key)
        if hit is not None:
            start, data = i + 1, hit
            hit_run = StageRun(stages[i].name, stages[i].where, key, "hit", time.perf_counter() - t0)
            break
    runs = [StageRun(s.name, s.where, s.key, "skipped", sql=s.sql) for s in stages[: max(start - 1, 0)]]
    if start:
        hit_run.rows, hit_run.sql = _rows(data), stages[start - 1].sql
        runs.append(hit_run)
    for stage in stages[start:]:
        t0 = time.perf_counter()
        data = stage.run(data)
        if stage.key is not None:
            data = store.put(stage.key, data, plan.ttl)
        else:
            store.count_uncacheable()
        runs.append(
            StageRun(
                stage.name,
                stage.where,
                stage.key,
                "computed",
                time.perf_counter() - t0,
                _rows(data),
                stage.sql,
            )
        )
    return data, runs


def _rows(data: Any) -> int | None:
    try:
        return len(data)
    except TypeError:
        return None
