"""The contract between a source that computes part of a pipeline itself and lumen-ext's stage cache.

Lumen hands a source only the filter query; the transforms run afterwards on whatever ``get`` returned. A
source with a lazy engine (Dask) can do better: build one graph for the read, the filters and the leading
transforms, and compute it once. The stage cache's planner (``lumen_ext.cache.stages``) asks a source for
that by calling ``source.lumen_ext_pushdown(table, query, transforms)`` when the method exists, and plans
one stage keyed by the source, the query and the first ``pushed`` transforms; the remaining transforms
become ordinary pandas stages below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourcePushdown"]


@dataclass
class SourcePushdown:
    """What the source computes for one pipeline: its table read, filtered, then ``transforms[:pushed]``."""

    engine: str
    """Names the stage (``dask``) and its cache key, so it never collides with another way of computing."""

    pushed: int
    """How many leading transforms ``run`` applies."""

    run: Callable[[], Any] = field(repr=False)
    """Computes the result (a pandas DataFrame); called once per cache miss, from any thread."""

    detail: str = ""
    """One line for ``lumen-ext explain``: where it runs and what it does."""

    reasons: list[str] = field(default_factory=list)
    """Why the transforms after ``pushed`` stay in pandas (``explain`` prints them as plan notes)."""
