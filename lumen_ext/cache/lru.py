"""The one least-recently-used map of the package: every bounded in-memory cache of lumen_ext is one.

The stage cache's memory tier, the compiled and rendered SQL, DuckDB's column types, file digests and scans,
rollup refusals, the plot memo and the drawings each kept an ``OrderedDict`` with its own lock, eviction loop and
byte arithmetic. They differ only in their bounds and in what they count, so one class carries all of it:

* bounded by entry count, by the sum of the entries' sizes, or both (the plot memo has both); the size is the
  caller's ``nbytes`` at ``put``, because the callers measure it once anyway and a frame's size is not cheap;
* a value bigger than the whole byte budget is refused and counted, never stored by evicting everything;
* an optional expiry per ``put`` (the stage cache's per-source ``ttl``), checked on read and counted;
* reads that leave recency and counters alone (:meth:`peek`, ``in``), for questions such as "would this be a
  hit now" that must not change the answer to the next one;
* hits, misses, evictions, expirations and refusals counted, which ``/metrics``, ``explain`` and the
  benchmarks print;
* thread-safe: every method is atomic, and :attr:`lock` (re-entrant) makes several calls one step, e.g. a
  check and a ``put``. Every one of these caches is shared by the threads of all sessions.

Why not ``cachetools.LRUCache``: it is the right core (LRU order and ``getsizeof`` accounting), but each caller
here would wrap it again with what it lacks: a lock (it is not thread-safe), a second bound, counting instead of
the ``ValueError`` it raises for a value too large, a per-put expiry whose lapse is visible (``TLRUCache``'s
expired item reads as a plain ``KeyError``), a read that leaves recency alone, and counters. With all of that
added, cachetools would do what ``OrderedDict.move_to_end`` and ``popitem(last=False)`` do, so the package keeps
one small class, tested against a plain model (``tests/cache/test_lru.py``), rather than a dependency plus
a wrapper.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

__all__ = ["LRU", "LruStats"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


@dataclass
class LruStats:
    entries: int = 0
    bytes: int = 0
    hits: int = 0
    misses: int = 0
    evictions: int = 0  # entries dropped to make room
    expirations: int = 0  # entries found expired by a get
    rejected: int = 0  # values larger than the whole byte budget

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class LRU(Generic[K, V]):
    """A thread-safe LRU map bounded by ``max_entries`` and/or ``max_bytes`` (None: no such bound)."""

    def __init__(
        self,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, not {max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.lock = threading.RLock()
        self._clock = clock
        # key -> (value, nbytes, expiry on ``clock`` or None), least recently used first
        self._entries: OrderedDict[K, tuple[V, int, float | None]] = OrderedDict()
        self._bytes = 0
        self._stats = LruStats()

    def get(self, key: K, default: V | None = None) -> V | None:
        """The value under ``key``, now the most recently used; ``default`` when absent or expired (a miss)."""
        with self.lock:
            slot = self._entries.get(key)
            if slot is not None and slot[2] is not None and slot[2] <= self._clock():
                self._remove(key)
                self._stats.expirations += 1
                slot = None
            if slot is None:
                self._stats.misses += 1
                return default
            self._entries.move_to_end(key)
            self._stats.hits += 1
            return slot[0]

    def peek(self, key: K, default: V | None = None) -> V | None:
        """The live value under ``key`` or ``default``, without counting or changing recency."""
        with self.lock:
            slot = self._entries.get(key)
            if slot is None or (slot[2] is not None and slot[2] <= self._clock()):
                return default
            return slot[0]

    def __contains__(self, key: object) -> bool:
        """Whether ``get(key)`` would hit now; counts nothing."""
        return self.peek(key, _MISSING) is not _MISSING  # type: ignore[arg-type]

    def put(self, key: K, value: V, nbytes: int = 0, ttl: float | None = None) -> bool:
        """Store ``value`` as the most recently used entry, expiring ``ttl`` seconds from now (None: never).

        Evicts the least recently used entries until both bounds hold. False, and nothing stored, when ``nbytes``
        alone exceeds ``max_bytes``; an older value under ``key`` is dropped then too, as it is out of date.
        """
        with self.lock:
            if key in self._entries:
                self._remove(key)
            if self.max_bytes is not None and nbytes > self.max_bytes:
                self._stats.rejected += 1
                return False
            expires_at = None if ttl is None else self._clock() + ttl
            self._entries[key] = (value, nbytes, expires_at)
            self._bytes += nbytes
            # The new entry is last and fits alone, so the loop stops before reaching it.
            while (self.max_bytes is not None and self._bytes > self.max_bytes) or (
                self.max_entries is not None and len(self._entries) > self.max_entries
            ):
                _, (_, evicted_bytes, _) = self._entries.popitem(last=False)
                self._bytes -= evicted_bytes
                self._stats.evictions += 1
            return True

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Remove ``key`` (not counted as an eviction) and return its value, expired or not, or ``default``."""
        with self.lock:
            if key not in self._entries:
                return default
            return self._remove(key)

    def clear(self, *, reset_stats: bool = False) -> None:
        """Drop every entry; the counters too when ``reset_stats``."""
        with self.lock:
            self._entries.clear()
            self._bytes = 0
            if reset_stats:
                self._stats = LruStats()

    def __iter__(self) -> Iterator[K]:
        """The keys, least recently used first, from a snapshot: other threads may change the LRU meanwhile."""
        with self.lock:
            return iter(list(self._entries))

    def values(self) -> list[V]:
        """A snapshot of the values, least recently used first."""
        with self.lock:
            return [value for value, _, _ in self._entries.values()]

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the entries, least recently used first."""
        with self.lock:
            return [(key, slot[0]) for key, slot in self._entries.items()]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """The sum of the stored entries' sizes."""
        return self._bytes

    def stats(self) -> LruStats:
        """A copy of the counters, with the current entry count and bytes."""
        with self.lock:
            return LruStats(**{**asdict(self._stats), "entries": len(self._entries), "bytes": self._bytes})

    def _remove(self, key: K) -> V:
        value, nbytes, _ = self._entries.pop(key)
        self._bytes -= nbytes
        return value
