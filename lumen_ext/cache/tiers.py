"""Storage tiers of the stage cache.

* :class:`MemoryTier`: the first tier, an LRU of DataFrames bounded by bytes, shared by every session of
  the process.
* :class:`SecondTier`: the interface of slower, bigger, possibly shared tiers, which store serialised
  frames (Arrow IPC bytes) by key. :class:`FileTier` implements it on a local directory (processes of one
  host share it); :class:`RedisTier` on a Redis server (processes of many hosts share it).

:func:`second_tier_for` picks the tier a :class:`~lumen_ext.cache.config.CacheConfig` asks for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lumen_ext.cache.lru import LRU

if TYPE_CHECKING:
    from lumen_ext.cache.config import CacheConfig

log = logging.getLogger("lumen_ext.cache")

__all__ = ["FileTier", "MemoryTier", "RedisTier", "SecondTier", "TierStats", "second_tier_for"]


@dataclass
class TierStats:
    entries: int = 0
    bytes: int = 0
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    rejected: int = 0  # too big for the budget, or not storable
    errors: int = 0  # the tier could not be reached; the request went on as a miss

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class MemoryTier:
    """Thread-safe LRU mapping of key to value, bounded by the sum of the values' sizes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: LRU[str, Any] = LRU(max_bytes=max_bytes)

    def get(self, key: str) -> Any | None:
        return self._entries.get(key)

    def put(self, key: str, value: Any, nbytes: int, ttl: float | None = None) -> bool:
        """Store ``value``; False when it alone exceeds the budget (it is then not stored)."""
        return self._entries.put(key, value, nbytes, ttl)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def holds(self, key: str) -> bool:
        """Whether ``get(key)`` would return a value now (present and not expired); counts nothing."""
        return key in self._entries

    def clear(self) -> None:
        self._entries.clear()

    def stats(self) -> dict[str, int]:
        counts = self._entries.stats()
        return TierStats(**counts.as_dict()).as_dict()  # the tiers' common record (errors: never, here)


@runtime_checkable
class SecondTier(Protocol):
    """A key to bytes store behind the memory tier (file system here; Redis in the scale-out issue).

    Keys are lowercase hex digests. Values are serialised frames (Arrow IPC streams) and opaque to the
    tier. ``ttl`` is in seconds, ``None`` for no expiry.
    """

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes, ttl: float | None = None) -> None: ...

    def stats(self) -> dict[str, int]: ...


_KEY_RE = re.compile(r"^[0-9a-f]{8,128}$")
_MAGIC = b"LXC1"
_HEADER = struct.Struct("<4sd")  # magic, absolute expiry as a Unix time (0.0: never)


class FileTier:
    """:class:`SecondTier` on a local directory: one file per key, written atomically, LRU by mtime.

    A write goes to a temporary file in the target directory and is renamed into place, so a reader (in
    this or another process) sees either the old file, the new file, or none, never a partial one.
    """

    name = "disk"
    suffix = ".arrow"

    def __init__(self, directory: str | os.PathLike, max_bytes: int):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._stats = TierStats()
        self._scan()

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key):  # keys become file names: never let one climb out of the directory
            raise ValueError(f"invalid cache key {key!r}")
        return self.directory / key[:2] / f"{key}{self.suffix}"

    def _files(self) -> list[Path]:
        return list(self.directory.glob(f"*/*{self.suffix}"))

    def _scan(self) -> None:
        files = self._files()
        self._stats.entries = len(files)
        self._stats.bytes = sum(_size(f) for f in files)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            with self._lock:
                self._stats.misses += 1
            return None
        magic, expires_at = _HEADER.unpack_from(raw) if len(raw) >= _HEADER.size else (b"", 0.0)
        if magic != _MAGIC or (expires_at and expires_at <= time.time()):
            self._remove(path)
            with self._lock:
                self._stats.misses += 1
                self._stats.expirations += magic == _MAGIC
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recency for the LRU eviction below
        with self._lock:
            self._stats.hits += 1
        return raw[_HEADER.size :]

    def put(self, key: str, data: bytes, ttl: float | None = None) -> None:
        path = self._path(key)
        size = len(data) + _HEADER.size
        if size > self.max_bytes:
            with self._lock:
                self._stats.rejected += 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        header = _HEADER.pack(_MAGIC, 0.0 if ttl is None else time.time() + ttl)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=self.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(header)
                fh.write(data)
            old = _size(path)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with self._lock:
            self._stats.bytes += size - old
            self._stats.entries += old == 0
        self._evict()

    def _evict(self) -> None:
        with self._lock:
            if self._stats.bytes <= self.max_bytes:
                return
        # Other processes may share the directory, so the budget is enforced against what is on disk.
        files = sorted(self._files(), key=_mtime)
        total = sum(_size(f) for f in files)
        for f in files:
            if total <= self.max_bytes:
                break
            total -= _size(f)
            self._remove(f)
            with self._lock:
                self._stats.evictions += 1
        with self._lock:
            self._scan()

    def _remove(self, path: Path) -> None:
        size = _size(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            with self._lock:
                self._stats.bytes -= size
                self._stats.entries -= 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._stats.as_dict()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


class RedisTier:
    """:class:`SecondTier` on a Redis server, shared by every process (and host) that uses the same URL.

    One Redis string per key, ``{namespace}:{key}``, written with ``SET .. PX`` so Redis expires it; the
    size budget is Redis's own (``maxmemory`` with an ``allkeys-lru`` policy evicts like the file tier).

    The cache must never take a dashboard down: when Redis cannot be reached, calls count an error and
    behave as a miss (``get``) or a no-op (``put``), and for ``retry_after`` seconds the tier is skipped
    outright, so an outage costs one connection timeout, not one per stage of every session.

    The client is created on first use in each process: ``lumen-ext serve --num-procs`` forks after the
    tier is configured, and a Redis connection must never be shared by two processes.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "lumen-ext",
        max_entry_bytes: int = 256 * 1024 * 1024,
        timeout: float = 2.0,
        retry_after: float = 5.0,
    ):
        self.url = url
        self.namespace = namespace
        self.max_entry_bytes = max_entry_bytes
        self.timeout = timeout
        self.retry_after = retry_after
        self._client: Any = None
        self._pid: int | None = None
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._stats = TierStats()

    def _redis(self) -> Any:
        pid = os.getpid()
        if self._client is None or self._pid != pid:
            import redis

            self._client = redis.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._pid = pid
        return self._client

    def _key(self, key: str) -> str:
        if not _KEY_RE.match(key):
            raise ValueError(f"invalid cache key {key!r}")
        return f"{self.namespace}:{key}"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, action: str, exc: Exception) -> None:
        with self._lock:
            self._stats.errors += 1
            first = self._down_until == 0.0 or time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + self.retry_after
        if first:
            log.warning(
                "Redis cache tier at %s failed to %s (%s); skipping it for %.0f s",
                _redacted(self.url),
                action,
                exc,
                self.retry_after,
            )

    def get(self, key: str) -> bytes | None:
        name = self._key(key)
        data = None
        if self._available():
            try:
                data = self._redis().get(name)
            except Exception as exc:  # redis.RedisError and OSError alike: a miss, never a failed page
                self._failed("read", exc)
        with self._lock:
            if data is None:
                self._stats.misses += 1
            else:
                self._stats.hits += 1
        return data

    def put(self, key: str, data: bytes, ttl: float | None = None) -> None:
        name = self._key(key)
        if len(data) > self.max_entry_bytes or (ttl is not None and ttl <= 0):
            with self._lock:
                self._stats.rejected += 1
            return
        if not self._available():
            return
        try:
            self._redis().set(name, data, px=None if ttl is None else max(1, round(ttl * 1000)))
        except Exception as exc:
            self._failed("write", exc)
            return
        with self._lock:
            # What this process wrote: Redis evicts and expires on its own, so the tier's true content is
            # Redis's to report (`INFO keyspace`, `INFO memory`); counting it here would need a scan.
            self._stats.entries += 1
            self._stats.bytes += len(data)

    def ping(self) -> bool:
        """True when Redis answers now (for readiness probes; ignores the back-off)."""
        try:
            ok = bool(self._redis().ping())
        except Exception as exc:
            self._failed("answer a ping", exc)
            return False
        with self._lock:
            self._down_until = 0.0
        return ok

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._stats.as_dict()


def second_tier_for(config: CacheConfig) -> SecondTier | None:
    """The second tier ``config`` asks for: Redis when ``redis_url`` is set, else files in ``disk_dir``."""
    if config.redis_url:
        return RedisTier(
            config.redis_url, namespace=config.redis_namespace, max_entry_bytes=config.disk_max_entry_bytes
        )
    if config.disk_dir is not None:
        return FileTier(config.disk_dir, config.disk_max_bytes)
    return None


def _redacted(url: str) -> str:
    # redis://user:secret@host/0 -> redis://user:***@host/0: log lines must not carry the password
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
