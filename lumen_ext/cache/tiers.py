"""Storage tiers of the stage cache.

* :class:`MemoryTier`: the first tier, an LRU of DataFrames bounded by bytes, shared by every session of
  the process.
* :class:`SecondTier`: the interface of slower, bigger, possibly shared tiers, which store serialised
  frames (Arrow IPC bytes) by key. :class:`FileTier` implements it on a local directory; a Redis tier can
  implement the same three methods.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["FileTier", "MemoryTier", "SecondTier", "TierStats"]


@dataclass
class TierStats:
    entries: int = 0
    bytes: int = 0
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    rejected: int = 0  # too big for the budget, or not storable

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Entry:
    value: Any
    nbytes: int
    expires_at: float | None


class MemoryTier:
    """Thread-safe LRU mapping of key to value, bounded by the sum of the values' sizes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._stats = TierStats()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at is not None and entry.expires_at <= time.monotonic():
                self._drop(key)
                self._stats.expirations += 1
                entry = None
            if entry is None:
                self._stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self._stats.hits += 1
            return entry.value

    def put(self, key: str, value: Any, nbytes: int, ttl: float | None = None) -> bool:
        """Store ``value``; False when it alone exceeds the budget (it is then not stored)."""
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if nbytes > self.max_bytes:
                self._stats.rejected += 1
                return False
            while self._entries and self._stats.bytes + nbytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self._stats.evictions += 1
            expires_at = None if ttl is None else time.monotonic() + ttl
            self._entries[key] = _Entry(value, nbytes, expires_at)
            self._stats.bytes += nbytes
            self._stats.entries = len(self._entries)
            return True

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._stats.bytes = 0
            self._stats.entries = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._stats.as_dict()

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._stats.bytes -= entry.nbytes
        self._stats.entries = len(self._entries)


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
