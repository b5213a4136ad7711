"""The stage store: DataFrames by key in memory, serialised frames in an optional second tier.

Cached frames are shared by every session, so nobody may be able to change one. pandas 3 always
copies on write: ``frame.copy(deep=False)`` is a new object over the same buffers, and writing to it
(``df['x'] = ..``, ``df.loc[..] = ..``) copies the touched column first, while ``.values``/``.to_numpy()``
hand out read-only arrays. So the store keeps a shallow copy of what it is given and hands out a fresh
shallow copy per hit: a caller cannot corrupt the cache, and protecting it costs microseconds whatever the
frame size (``bench/bench_cache.py`` measures it against a deep copy).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any

import pandas as pd

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.tiers import MemoryTier, SecondTier, second_tier_for

__all__ = ["StageStore", "frame_nbytes", "frame_to_ipc", "ipc_to_frame", "is_cacheable_frame"]

log = logging.getLogger("lumen_ext.cache")

STATS_LOG_INTERVAL = 60.0  # seconds between two INFO lines with the statistics


def is_cacheable_frame(value: Any) -> bool:
    # Lazy and foreign frames are left alone: their size is unknown and they may not be immutable.
    return isinstance(value, pd.DataFrame)


def frame_nbytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(deep=True, index=False).sum()) + _index_nbytes(frame.index)


def _index_nbytes(index: pd.Index) -> int:
    if isinstance(index, pd.MultiIndex):
        # MultiIndex.memory_usage builds the index's hash engine just to size it (ms per put for a
        # 12-row aggregate); levels plus codes are what the frame holds.
        levels = sum(level.memory_usage(deep=True) for level in index.levels)
        return int(levels + sum(codes.nbytes for codes in index.codes))
    return int(index.memory_usage(deep=True))


def readonly_view(frame: pd.DataFrame) -> pd.DataFrame:
    """A new frame object over the same data; under copy-on-write, writes to it never reach ``frame``."""
    return frame.copy(deep=False)


def frame_to_ipc(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa

    # None keeps a RangeIndex as metadata (restored as a RangeIndex) and stores any other index.
    table = pa.Table.from_pandas(frame, preserve_index=None)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def ipc_to_frame(data: bytes) -> pd.DataFrame:
    import pyarrow as pa

    with pa.ipc.open_stream(data) as reader:
        return reader.read_all().to_pandas()


class StageStore:
    """Memory tier in front of an optional :class:`SecondTier`, with statistics."""

    def __init__(self, config: CacheConfig | None = None, second: SecondTier | None = None):
        self.config = config = config or CacheConfig()
        self.memory = MemoryTier(config.max_bytes)
        # Redis when configured, else a cache directory, else none: one place decides (tiers.second_tier_for).
        self.second = second if second is not None else second_tier_for(config)
        self._lock = threading.Lock()
        self._counters = {"uncacheable": 0, "second_errors": 0}
        self._last_log = time.monotonic()

    def get(self, key: str) -> pd.DataFrame | None:
        frame = self.memory.get(key)
        if frame is None and self.second is not None:
            frame = self._get_second(key)
        self._maybe_log()
        return None if frame is None else readonly_view(frame)

    def _get_second(self, key: str) -> pd.DataFrame | None:
        try:
            data = self.second.get(key)
            if data is None:
                return None
            frame = ipc_to_frame(data)
        except Exception:  # a broken or foreign entry is a miss, never a failed dashboard
            log.warning("second-tier cache entry %s unreadable; recomputing", key, exc_info=True)
            self._count("second_errors")
            return None
        self.memory.put(key, frame, frame_nbytes(frame))
        return frame

    def put(self, key: str, frame: Any, ttl: float | None = None) -> Any:
        """Store ``frame`` and return what the caller should use from now on (a read-only view)."""
        if not is_cacheable_frame(frame):
            self._count("uncacheable")
            return frame
        stored = readonly_view(frame)
        nbytes = frame_nbytes(stored)
        self.memory.put(key, stored, nbytes, ttl)
        if self.second is not None and nbytes <= self.config.disk_max_entry_bytes:
            try:
                self.second.put(key, frame_to_ipc(stored), ttl)
            except Exception:  # e.g. an object column Arrow cannot type; memory still has it
                log.debug("second-tier cache could not store %s", key, exc_info=True)
                self._count("second_errors")
        return readonly_view(stored)

    def count_uncacheable(self) -> None:
        self._count("uncacheable")

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"memory": self.memory.stats()}
        if self.second is not None:
            stats[getattr(self.second, "name", type(self.second).__name__)] = self.second.stats()
        with self._lock:
            stats.update(self._counters)
        return stats

    def clear(self) -> None:
        self.memory.clear()

    def _maybe_log(self) -> None:
        now = time.monotonic()
        if now - self._last_log >= STATS_LOG_INTERVAL:
            self._last_log = now
            log.info("lumen-ext stage cache: %s", self.stats())
