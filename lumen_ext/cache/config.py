"""Settings of the stage cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024


@dataclass(frozen=True)
class CacheConfig:
    """How much the stage cache may hold and for how long.

    Freshness works in two ways. Local files (a ``file`` source's tables, the files a ``duckdb`` table
    reads) are fingerprinted by path, size and ``mtime_ns`` (plus a content hash below
    ``hash_files_below`` bytes, since an edit can keep size and mtime), so an edit changes every key below
    it at once. What cannot be fingerprinted (a database's contents, a URL) is keyed by a time window of
    ``sql_ttl``/``remote_ttl`` seconds, overridable per source name in ``source_ttl``; ``None`` means no
    expiry and ``0`` means never cache that source.
    """

    max_bytes: int = 512 * MiB
    """Memory budget of the in-process tier, counted with ``DataFrame.memory_usage(deep=True)``."""

    sql_ttl: float | None = 300.0
    """Seconds a SQL source's results stay valid (the database may change without us seeing it)."""

    remote_ttl: float | None = 300.0
    """Seconds results of URL tables and sources of unknown kind stay valid."""

    source_ttl: dict[str, float | None] = field(default_factory=dict)
    """Per-source override of the TTL, by the source's name in the spec."""

    hash_files_below: int = 1 * MiB
    """Files at most this big are also content-hashed into their fingerprint."""

    pushdown: bool = True
    """Compile filters and SQL-expressible transforms into the query on DuckDB sources."""

    rollup_max_rows: int = 100_000
    """Largest rollup cube kept for a pipeline whose query starts with a sum, count, min, max or mean aggregate
    under widget filters (:mod:`lumen_ext.cache.rollup`): its filter states are then answered from the cube
    instead of the table. ``0`` turns cubes off."""

    file_scan: bool = True
    """Read the Parquet (and, through a copy, CSV) tables of ``file`` sources through DuckDB, with filters and
    SQL-expressible transforms pushed into the query (:mod:`lumen_ext.cache.filescan` says when)."""

    file_scan_min_bytes: int = 8 * MiB
    """Smaller files are parsed once by Lumen's reader and filtered in pandas, which costs a few ms."""

    csv_copies: bool = True
    """Scan large CSV tables through a Parquet copy of Lumen's parse, written once per file version
    (:mod:`lumen_ext.cache.csv_copies`)."""

    csv_copy_dir: Path | None = None
    """Folder of those copies; ``None``: ``disk_dir/csv-parquet``, else a private folder under the
    temporary directory."""

    disk_dir: Path | None = None
    """Directory of the second (file) tier; ``None`` disables it."""

    disk_max_bytes: int = 2048 * MiB
    """Size budget of the file tier."""

    disk_max_entry_bytes: int = 256 * MiB
    """Results bigger than this (in memory) are not written to the second tier (file or Redis)."""

    redis_url: str | None = None
    """``redis://[user:password@]host:port/db`` of a Redis server to use as the second tier, shared by every
    process and host that names it; it takes precedence over ``disk_dir``. ``None`` disables it."""

    redis_namespace: str = "lumen-ext"
    """Prefix of the Redis keys (``{namespace}:{key}``), so several deployments can share one server."""

    def ttl_for(self, source_name: str | None, default: float | None) -> float | None:
        if source_name is not None and source_name in self.source_ttl:
            return self.source_ttl[source_name]
        return default
