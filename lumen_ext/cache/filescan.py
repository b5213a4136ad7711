"""Read a ``file`` source's Parquet table through DuckDB, returning exactly what Lumen's reader returns.

Lumen 1.4 parses the whole file into pandas and filters the frame (sources/base.py:1059-1064); the stage
cache made that once per file version, but a 10M-row file still costs a full parse and 10M rows of memory
before the first filter. Here the filters become a ``WHERE`` on ``read_parquet(...)`` and the leading
transforms SQL can express are pushed on top by :mod:`lumen_ext.cache.pushdown`, so DuckDB reads only the
row groups and columns the query needs.

"Exactly" covers what the pandas path would hand to the next stage:

* **row labels**: filtering a pandas frame keeps the original row positions as index labels, so the query
  carries ``file_row_number`` as the index;
* **dtypes**: the frame is converted from Arrow the way ``pandas.read_parquet`` does it, then each column is
  cast to the dtype Lumen's reader would give it *for the whole file*. That dtype can depend on data the
  query does not return: an integer column holding a null anywhere in the file is ``float64``, a boolean
  one ``object`` (read from the Parquet statistics), and a dictionary-encoded column is a ``category``
  whose categories are those of the whole file (read once per file version). ``use_dask`` sources get the
  string dtype dask gives;
* **category order**: grouping and sorting a dictionary column order it by position in those
  categories, as pandas does, not alphabetically (a cast to an ``ENUM`` would too, but costs more than
  the whole query at 10M rows);
* **filter semantics**: conditions are compiled from Lumen's ``Filter`` transform rules (a scalar is an
  equality, a list a membership with missing values matching nulls on non-numeric columns, a tuple an
  inclusive range that NaN never satisfies), not from ``SQLFilter``, whose rules differ. A condition
  outside the supported forms (dates, a string against a numeric column, ...) keeps the pandas path.

**CSV** tables are scanned the same way through a Parquet copy of Lumen's own parse, written once per file
version (:mod:`lumen_ext.cache.csv_copies`): pandas and DuckDB infer CSV column types differently (dates,
booleans, ``"NA"`` strings, integers with a null, float rounding), and DuckDB's ``read_csv`` would re-read the
text on every query. The copy is used only if it reads back with the parsed frame's dtypes and row labels.

What is not read this way, and why (the pandas path stays, parsing once per file version):

* a CSV whose copy is refused (the reason is recorded, so it is parsed for this once per file version);
* files under ``CacheConfig.file_scan_min_bytes`` (parsed once in tens of ms, then filtered in memory
  faster than a query runs), several files per table,
  templated or remote paths, ``kwargs`` for the reader, ``dask: true`` (a lazy frame is expected), a
  stored non-range pandas index, and column types whose conversion is not mirrored (nested, decimal, ...).

Security: the path goes through ``FileSource._resolve_template_vars``, which ``lumen_ext.security``
guards (project roots, ``allowed_dirs``), and each connection can read only its one file:
``allowed_paths`` is that file and ``enable_external_access`` is off (no other file, no network, no
extension install), whatever the SQL says. Hence one in-memory DuckDB database per file version, the
last 16 kept open; a database holds no table data, only what a running query buffers.

Filter conditions become SQL in :mod:`~lumen_ext.cache.filter_sql`; the reader's dtypes of a whole file are read
by :mod:`~lumen_ext.cache.parquet_dtypes`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.filter_sql import NotScannable, filter_condition, sql_literal
from lumen_ext.cache.hashing import stable_hash
from lumen_ext.cache.lru import LRU
from lumen_ext.cache.parquet_dtypes import reader_dtypes, supported_type
from lumen_ext.cache.pushdown import ROWID, quote

__all__ = ["FileScan", "NotScannable", "fetch_with", "file_scan_for", "scan_stats"]

_PARQUET = frozenset({"parquet", "parq"})
_CSV = frozenset({"csv"})

_lock = threading.Lock()  # guards the counters
# The open scans by (path, file version, dask): one DuckDB database each, the last 16 kept open.
_scans: LRU[tuple, FileScan] = LRU(max_entries=16)
_counters = {"queries": 0, "scans_opened": 0, "csv_parses": 0}


def scan_stats() -> dict[str, int]:
    """Queries run and files opened through DuckDB (the source reads of file scans), and CSV files parsed to
    write their Parquet copy: for benchmarks and explain."""
    with _lock:
        return dict(_counters)


@dataclass
class FileScan:
    """One Parquet file version opened in a sandboxed DuckDB connection."""

    path: str
    fingerprint: tuple
    connection: Any
    dtypes: dict[str, Any]  # the dtype Lumen's reader gives each column for the whole file
    collations: dict[str, str]  # column -> the SQL expression that sorts it as pandas does (categories)
    raw_types: dict[str, str]  # DuckDB type of each column
    base_sql: str  # every column, row labels included, no filter
    origin: str = "the Parquet file"  # what DuckDB scans, for explain

    def filtered_sql(self, conditions: list[tuple[str, Any]]) -> str:
        """The base query with Lumen's filter ``conditions``; raises :class:`NotScannable`."""
        return self.base_sql + self.where(conditions)

    def where(self, conditions: list[tuple[str, Any]]) -> str:
        """The ``WHERE`` clause of Lumen's filter ``conditions`` over this file's columns ("" for none)."""
        where = [c for c in (filter_condition(self.raw_types, k, v) for k, v in conditions) if c is not None]
        return f" WHERE {' AND '.join(where)}" if where else ""

    def types_of(self, sql: str) -> dict[str, str]:
        with self.connection.cursor() as cursor:
            rel = cursor.sql(sql)
            return dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))

    def fetch(self, sql: str, targets: dict[str, Any]) -> pd.DataFrame:
        """Run ``sql`` and give each column of the result the dtype in ``targets``."""
        with self.connection.cursor() as cursor:
            df = fetch_with(cursor, sql, targets)
        with _lock:
            _counters["queries"] += 1
        return df


def fetch_with(cursor: Any, sql: str, targets: dict[str, Any]) -> pd.DataFrame:
    """:meth:`FileScan.fetch` on a cursor of the caller's (one with a cube registered, say)."""
    # What pandas.read_parquet does with the Arrow table (pandas/io/_util.py, pyarrow >= 19).
    return restore_dtypes(cursor.sql(sql).to_arrow_table().to_pandas(), targets)


def restore_dtypes(df: pd.DataFrame, targets: dict[str, Any]) -> pd.DataFrame:
    casts = {c: targets[c] for c in df.columns if c in targets and df[c].dtype != targets[c]}
    return df.astype(casts) if casts else df


def file_scan_for(
    source: Any, table: str, config: CacheConfig, fingerprint: tuple, read: Callable[[], Any] | None = None
) -> FileScan:
    """The open scan of ``table``'s current file version; raises :class:`NotScannable` with the reason.

    ``read()`` is Lumen's reader for the table: a CSV is scanned through a Parquet copy of what it returns.
    """
    path, ext = _local_path(source, table)
    csv = ext in _CSV and config.csv_copies and read is not None
    if ext not in _PARQUET and not csv:
        raise NotScannable(f"{ext or 'unknown'} files keep Lumen's reader (see lumen_ext.cache.filescan)")
    size = os.path.getsize(path)
    if size < config.file_scan_min_bytes:
        raise NotScannable(f"{size} bytes, under file_scan_min_bytes: pandas parses it in a few ms")
    dask = bool(getattr(source, "use_dask", False))
    key = (path, stable_hash(fingerprint), dask)
    scan = _scans.get(key)
    if scan is not None:
        return scan
    try:
        if csv:
            copy = _csv_copy(path, fingerprint, config, read)
            scan = _open(copy, fingerprint, False, origin="a Parquet copy of the CSV file")
        else:
            scan = _open(path, fingerprint, dask)
    except NotScannable:
        raise
    except Exception as e:  # whatever pyarrow, dask or DuckDB cannot read here, Lumen's reader may
        raise NotScannable(f"{type(e).__name__}: {e}") from e
    with _scans.lock:
        # Older versions of the same file are dead: drop them now rather than when the LRU gets to them.
        # Not closed here: a plan computing in another session may still hold one; the database closes
        # when the last reference goes.
        for stale in [k for k in _scans if k[0] == path and k != key]:
            _scans.pop(stale)
        _scans.put(key, scan)
    with _lock:
        _counters["scans_opened"] += 1
    return scan


def _csv_copy(path: str, fingerprint: tuple, config: CacheConfig, read: Callable[[], Any]) -> str:
    from lumen_ext.cache import csv_copies

    def parse() -> Any:
        with _lock:
            _counters["csv_parses"] += 1
        return read()

    try:
        return csv_copies.parquet_copy(path, fingerprint, csv_copies.copy_dir(config), parse, _check_copy)
    except csv_copies.CopyRefused as e:
        raise NotScannable(f"no Parquet copy of the CSV: {e}") from e


def _check_copy(copy: str, frame: Any) -> None:
    """Refuse a copy that would not read back as Lumen's parse: the same row labels, columns and dtypes."""
    import pyarrow.parquet as pq

    from lumen_ext.cache.csv_copies import CopyRefused

    if not isinstance(frame, pd.DataFrame):
        raise CopyRefused(f"Lumen's reader gave a {type(frame).__name__}")
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and (index.start, index.step) == (0, 1) and index.name is None):
        raise CopyRefused("Lumen's reader labels the rows other than 0..n-1")
    pfile = pq.ParquetFile(copy)
    if pfile.schema_arrow.names != list(frame.columns):
        raise CopyRefused("the column names do not survive Parquet")
    read_back = reader_dtypes(copy, pfile, pfile.schema_arrow, False)
    for name in frame.columns:
        if read_back[name] != frame[name].dtype:
            raise CopyRefused(
                f"column {name!r} reads back as {read_back[name]}, Lumen gives {frame[name].dtype}"
            )


def _local_path(source: Any, table: str) -> tuple[str, str]:
    from lumen.sources.base import FileSource

    if type(source) is not FileSource:
        raise NotScannable(f"{type(source).__name__} may read files its own way")
    if source.kwargs:
        raise NotScannable("reader kwargs are passed to pandas")
    if getattr(source, "dask", False):
        raise NotScannable("dask: true asks for a lazy frame")
    named = source._named_files
    if table not in named:
        raise NotScannable(f"unknown table {table!r}")
    filepath, ext = named[table]
    filepath = os.fspath(filepath)
    if "://" in filepath or "${" in filepath:
        raise NotScannable("remote or templated path")
    # The same call Lumen's reader makes: lumen_ext.security checks the location here when hardened.
    paths = source._resolve_template_vars(str(Path(source.root) / filepath))
    if len(paths) != 1:
        raise NotScannable("several files")
    path = os.path.abspath(paths[0])
    if not os.path.isfile(path):
        raise NotScannable(f"{path} is not a file")
    return path, (ext or "").lower()


def _connect(path: str) -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET allowed_paths = [{sql_literal(path)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    return con


def _open(path: str, fingerprint: tuple, dask: bool, origin: str = "the Parquet file") -> FileScan:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pfile = pq.ParquetFile(path)
    schema = pfile.schema_arrow
    meta = schema.pandas_metadata or {}
    if any(not isinstance(i, dict) for i in meta.get("index_columns", [])):
        raise NotScannable("the file stores a pandas index")
    for i in meta.get("index_columns", []):
        if (i.get("start"), i.get("step")) != (0, 1):
            raise NotScannable("the file stores a non-default RangeIndex")
    if any(c.get("name") is not None for c in meta.get("column_indexes", [])):
        raise NotScannable("named column index")
    names = schema.names
    if len(set(names)) != len(names) or ROWID in names or "file_row_number" in names:
        raise NotScannable("duplicate or reserved column names")
    for f in schema:
        if not supported_type(pa, f.type):
            raise NotScannable(f"column {f.name!r} of type {f.type}")

    dtypes = reader_dtypes(path, pfile, schema, dask)
    con = _connect(path)
    scan_sql = f"read_parquet({sql_literal(path)}, file_row_number = true)"
    with con.cursor() as cursor:
        rel = cursor.sql(f"SELECT * FROM {scan_sql}")
        raw_types = {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True) if c != "file_row_number"}
    collations = {}
    for name in names:
        dtype = dtypes[name]
        if isinstance(dtype, pd.CategoricalDtype):
            if not all(isinstance(c, str) for c in dtype.categories):
                con.close()
                raise NotScannable(f"non-string categories in {name!r}")
            # Sorting by position in the categories is pandas' order. Casting the column to an ENUM
            # would say the same, but costs more than the query on 10M rows; this runs on what is sorted.
            members = ", ".join(sql_literal(c) for c in dtype.categories)
            collations[name] = f"list_position([{members}], {quote(name)})"
    columns = ", ".join(quote(n) for n in names)
    base_sql = f"SELECT file_row_number AS {quote(ROWID)}, {columns} FROM {scan_sql}"
    return FileScan(path, fingerprint, con, dtypes, collations, raw_types, base_sql, origin)
