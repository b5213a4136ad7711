"""Cached server-side transforms for Lumen pipelines.

With the hooks of the ``cache`` group enabled (``lumen-ext serve`` does; see :mod:`lumen_ext.hooks.table`), every
Lumen ``Pipeline`` built afterwards computes its data as a chain of keyed stages (source query, filters, each
transform) stored in a process-wide, byte-bounded LRU shared by all sessions, with SQL pushdown on DuckDB sources
and on large Parquet files of ``file`` sources, read through DuckDB (:mod:`lumen_ext.cache.filescan`). See
:mod:`lumen_ext.cache.stages` for the keys and :mod:`lumen_ext.cache.store` for the tiers.
"""

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.runtime import active_store, stats
from lumen_ext.cache.store import StageStore
from lumen_ext.cache.tiers import FileTier, MemoryTier, SecondTier

__all__ = [
    "CacheConfig",
    "FileTier",
    "MemoryTier",
    "SecondTier",
    "StageStore",
    "active_store",
    "stats",
]
