"""What every module of the stage planner (:mod:`lumen_ext.cache.stages`) shares: the stage and plan records,
how a stage's key chains onto its upstream key, and the source read without Lumen's own cache."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lumen_ext.cache.hashing import Unhashable, combine

__all__ = ["Plan", "Stage", "chain_key", "describe_key", "raw_get", "transform_token"]


@dataclass
class Stage:
    name: str
    where: str  # "sql", "source", "pandas" or "parent"
    key: str | None
    run: Callable[[Any], Any] = field(repr=False)
    sql: str | None = None
    detail: str = ""
    # Whether the stage can run now from what the memory tier holds, without reading the source (a rollup cube).
    from_memory: Callable[[], bool] | None = field(default=None, repr=False)


@dataclass
class Plan:
    stages: list[Stage]
    ttl: float | None = None
    pushed: int = 0  # leading transforms the source query performs
    notes: list[str] = field(default_factory=list)

    @property
    def final_key(self) -> str | None:
        return self.stages[-1].key if self.stages else None


def transform_token(transform: Any) -> tuple:
    """What identifies a transform's effect: its class and parameter values (raises Unhashable)."""
    cls = type(transform)
    module = sys.modules.get(cls.__module__)
    if module is None or getattr(module, cls.__qualname__, None) is not cls:
        # e.g. a class exec'd from a spec folder's transforms.py: the name alone does not say which code.
        raise Unhashable(f"{cls.__qualname__} is not importable by name")
    values = {k: v for k, v in transform.param.values().items() if k not in ("name", "controls")}
    return (f"{cls.__module__}.{cls.__qualname__}", values)


def chain_key(parent: str | None, *parts: Any) -> str | None:
    if parent is None:
        return None
    try:
        return combine(parent, *parts)
    except Unhashable:
        return None


def raw_get(source: Any, table: str, **query: Any) -> Any:
    """``source.get`` without Lumen's per-source cache, which never notices a changed file.

    Mirrors the post-processing of Lumen's ``@cached`` wrapper (sources/base.py:107-156): collect a lazy
    frame, compute a dask one unless the source asked for dask.
    """
    from lumen.util import collect_lazy

    get = type(source).get
    method = getattr(get, "__wrapped__", None)
    if method is None:
        return source.get(table, **query)
    df = method(source, table, **query)
    collected = collect_lazy(df)
    if collected is not df:
        return collected
    if getattr(source, "dask", False) or not hasattr(df, "compute"):
        return df
    return df.compute()


def describe_key(key: str | None) -> str:
    return key[:12] if key else "(uncached)"
