"""Compiled queries keyed by everything except the filter values.

Planning a pushed-down query costs more than many cached answers: every step of
:func:`~lumen_ext.cache.pushdown.compile_pushdown` binds its SQL in DuckDB to learn the column types, and
with the filter values inside that SQL nothing could be reused when a viewer picks a new value. But a
``WHERE`` clause never changes a query's columns or types. So the query is compiled once around a
placeholder standing for the filtered source query, keyed by the shape of the pipeline (the source, its
file versions, the table, the transforms and their parameters), and each computation only renders its
filtered source query into the template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lumen_ext.cache.lru import LRU
from lumen_ext.cache.pushdown import PushdownPlan

__all__ = ["BASE", "CompiledQuery", "PlanCache", "plan_cache", "rendered_sql"]

# Stands for the filtered source query in a template. A NUL byte cannot occur in SQL a spec produces,
# so replacing it can never touch user text; it is never sent to DuckDB (types_of substitutes it first).
BASE = "\x00lumen_ext_base\x00"


@dataclass(frozen=True)
class CompiledQuery:
    template: str  # the pushed-down query, with BASE where the filtered source query goes
    push: PushdownPlan  # how many transforms it performs and how to shape the fetched frame
    reasons: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # what the compiler also derived once

    def render(self, base_sql: str) -> str:
        return self.template.replace(BASE, base_sql, 1)


def with_base(types_of: Callable[[str], dict[str, str]], unfiltered: str) -> Callable[[str], dict[str, str]]:
    """``types_of`` for templates: the unfiltered query has the same columns as any filtered one."""

    def types(sql: str) -> dict[str, str]:
        return types_of(sql.replace(BASE, unfiltered, 1))

    return types


class PlanCache:
    """Thread-safe LRU of compiled queries, bounded by count (entries are a few kB of SQL and metadata)."""

    def __init__(self, max_entries: int = 1024):
        self.max_entries = max_entries
        self._entries: LRU[str, CompiledQuery] = LRU(max_entries=max_entries)

    def get_or_compile(self, key: str | None, compile: Callable[[], CompiledQuery]) -> CompiledQuery:
        if key is None:  # unkeyable shape: compile every time, as before
            return compile()
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        # Compiled outside the lock: two sessions racing on a new shape both compile, and agree.
        entry = compile()
        self._entries.put(key, entry)
        return entry

    def stats(self) -> dict[str, int]:
        counts = self._entries.stats()
        return {"entries": counts.entries, "hits": counts.hits, "misses": counts.misses}

    def clear(self) -> None:
        self._entries.clear()


plan_cache = PlanCache()
# The filtered source queries themselves, by their inputs (source expression, filter conditions, SQL transforms):
# Lumen renders a filter through SQLFilter and sqlglot, about a millisecond per change, and a state seen before
# renders the same text.
rendered_sql = PlanCache(max_entries=4096)
