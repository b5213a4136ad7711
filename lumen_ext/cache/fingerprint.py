"""What a source's data is: its identity (the spec that defines it) and its freshness.

The identity covers every parameter that changes what ``get`` returns and none that only tune Lumen's own
caching, so two sessions (or two dashboards) declaring the same source share results. Freshness is what
makes an edit visible: the stat (and, for small files, the content hash) of every local file a table reads,
or a time window for what cannot be observed (a database, a URL).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.hashing import Unhashable, stable_hash
from lumen_ext.cache.lru import LRU

if TYPE_CHECKING:
    from lumen.sources.base import Source

__all__ = ["file_fingerprint", "source_freshness", "source_identity", "source_ttl"]

# Parameters that steer Lumen's own caches or labels, never the data.
_IGNORED_PARAMS = frozenset(
    {
        "name",
        "cache_with_dask",
        "cache_per_query",
        "cache_dir",
        "cache_data",
        "cache_schema",
        "cache_metadata",
        "shared",
        "metadata",
        "metadata_func",
        "load_schema",
        "excluded_tables",
        "geometry_crs",
    }
)

_QUOTED = re.compile(r"'((?:[^']|'')+)'")


def source_identity(source: Source) -> str:
    """Hash of the source's class and data-defining parameters; raises :class:`Unhashable`."""
    cls = type(source)
    values = {k: v for k, v in source.param.values().items() if k not in _IGNORED_PARAMS}
    values["root"] = str(Path(values.get("root") or ".").resolve())
    return stable_hash("source", f"{cls.__module__}.{cls.__qualname__}", values)


def _kind(source: Source) -> str:
    from lumen.sources.base import BaseSQLSource, FileSource

    if isinstance(source, FileSource):
        return "file"
    if isinstance(source, BaseSQLSource):
        return "sql"
    return "other"


def source_ttl(source: Source, config: CacheConfig) -> float | None:
    # A local file is watched through its fingerprint, so by default it needs no time window; nor does an
    # in-memory DuckDB database whose tables only read local files.
    kind = _kind(source)
    if kind == "sql" and _only_reads_local_files(source):
        kind = "file"
    default = {"sql": config.sql_ttl, "file": None, "other": config.remote_ttl}[kind]
    return config.ttl_for(getattr(source, "name", None), default)


# Table expressions whose result changes with the clock or by chance, files aside.
_VOLATILE = re.compile(
    r"\b(now|current_date|current_time|current_timestamp|get_current_time|get_current_timestamp|today|"
    r"random|uuid|gen_random_uuid|setseed|nextval|currval)\b",
    re.IGNORECASE,
)
# Initializers that configure the connection without creating or changing data.
_HARMLESS_INIT = re.compile(r"^\s*(SET|RESET|LOAD|INSTALL|PRAGMA)\b", re.IGNORECASE)


def _only_reads_local_files(source: Source) -> bool:
    """Whether every table of this DuckDB source is a query over local files, in a database of its own making.

    Its data then changes only when a file does, which the fingerprint sees; the time window that guards a
    database we cannot observe (another process writing to it) would only throw its results away.
    """
    if type(source).__name__ != "DuckDBSource" or getattr(source, "uri", None) not in ("", ":memory:"):
        return False
    if not all(isinstance(i, str) and _HARMLESS_INIT.match(i) for i in getattr(source, "initializers", [])):
        return False
    tables = getattr(source, "tables", None)
    if not isinstance(tables, dict) or not tables:
        return False
    for expr in tables.values():
        if not isinstance(expr, str) or "://" in expr or _VOLATILE.search(expr):
            return False
        quoted = [q.replace("''", "'") for q in _QUOTED.findall(expr)]
        if not any(os.path.exists(q) or (glob.has_magic(q) and glob.glob(q)) for q in quoted):
            return False  # e.g. a table created elsewhere: nothing says when it changes
    return True


# Content digests of small files by their exact stat.
_DIGESTS: LRU[tuple, str] = LRU(max_entries=4096)


def file_fingerprint(path: str | os.PathLike, hash_below: int) -> tuple:
    """(path, size, mtime_ns, ctime_ns, inode[, content digest]) of one file; raises FileNotFoundError.

    Every computation fingerprints its files, so this must cost a ``stat``, not a read: the content digest
    of a small file is remembered for its exact stat. An edit that keeps size and ``mtime`` (a restored
    timestamp, two writes within the clock's resolution) still moves ``ctime``, which no user call can set
    back, and a replaced file has a new inode: either one re-hashes the file.
    """
    path = os.path.abspath(path)
    st = os.stat(path)
    stat = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    digest = None
    if st.st_size <= hash_below:
        digest = _DIGESTS.get(stat)
        if digest is None:
            with open(path, "rb") as fh:
                digest = hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
            _DIGESTS.put(stat, digest)
    return (*stat, digest)


def _files_fingerprint(pattern: str, hash_below: int) -> list[tuple]:
    paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    return [file_fingerprint(p, hash_below) for p in paths if os.path.exists(p)]


def _window(ttl: float | None) -> int | None:
    # The window number is part of the key: when it turns over every key below the source changes at
    # once, which is what keeps downstream stages consistent with the refreshed source stage.
    if ttl is None:
        return None
    if ttl <= 0:
        raise Unhashable("caching disabled for this source (ttl 0)")
    return int(time.time() // ttl)


def source_freshness(source: Source, table: str, config: CacheConfig) -> tuple:
    """Freshness token of ``table`` on ``source``; raises :class:`Unhashable` when there is none."""
    kind = _kind(source)
    ttl = source_ttl(source, config)
    if kind == "file":
        return ("file", *_file_source_freshness(source, table, config, ttl))
    if kind == "sql":
        files: list[tuple] = []
        uri = getattr(source, "uri", None)
        if isinstance(uri, str) and uri not in ("", ":memory:") and os.path.exists(uri):
            files += _files_fingerprint(uri, 0)
            files += _files_fingerprint(f"{uri}.wal", 0)
        tables = getattr(source, "tables", None)
        exprs = tables.values() if isinstance(tables, dict) else (tables or [])
        for expr in exprs:
            if isinstance(expr, str):
                # DuckDB resolves relative paths against the working directory, and so do we.
                for quoted in [*_QUOTED.findall(expr), expr]:
                    files += _files_fingerprint(quoted.replace("''", "'"), config.hash_files_below)
        return ("sql", files, _window(ttl))  # no window when ``ttl`` is None: only the files say
    return ("other", _window(ttl))


def _file_source_freshness(source: Any, table: str, config: CacheConfig, ttl: float | None) -> tuple:
    named = source._named_files
    if table not in named:
        raise Unhashable(f"unknown table {table!r}")
    filepath, _ext = named[table]
    filepath = str(filepath)
    if "${" in filepath:
        # Resolved from variables at read time, so the spec alone does not say which file is read.
        raise Unhashable("templated file path")
    if "://" in filepath:
        return (filepath, _window(config.ttl_for(source.name, config.remote_ttl)))
    path = Path(source.root) / filepath
    files = _files_fingerprint(str(path), config.hash_files_below)
    if not files:
        raise Unhashable(f"{path} does not exist")
    return (files, _window(ttl))
