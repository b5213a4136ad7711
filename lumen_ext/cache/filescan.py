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
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.hashing import stable_hash
from lumen_ext.cache.lru import LRU
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


class NotScannable(Exception):
    """This table cannot be read through DuckDB exactly; the message says why."""

    pass


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
        where = [c for c in (_condition(self.raw_types, k, v) for k, v in conditions) if c is not None]
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
    read_back = _reader_dtypes(copy, pfile, pfile.schema_arrow, False)
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
    con.execute(f"SET allowed_paths = [{_literal(path)}]")
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
        if not _supported_type(pa, f.type):
            raise NotScannable(f"column {f.name!r} of type {f.type}")

    dtypes = _reader_dtypes(path, pfile, schema, dask)
    con = _connect(path)
    scan_sql = f"read_parquet({_literal(path)}, file_row_number = true)"
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
            members = ", ".join(_literal(c) for c in dtype.categories)
            collations[name] = f"list_position([{members}], {quote(name)})"
    columns = ", ".join(quote(n) for n in names)
    base_sql = f"SELECT file_row_number AS {quote(ROWID)}, {columns} FROM {scan_sql}"
    return FileScan(path, fingerprint, con, dtypes, collations, raw_types, base_sql, origin)


def _supported_type(pa: Any, t: Any) -> bool:
    types = pa.types
    if types.is_dictionary(t):
        return types.is_string(t.value_type) or types.is_large_string(t.value_type)
    return (
        types.is_integer(t)
        or (types.is_floating(t) and not types.is_float16(t))
        or types.is_boolean(t)
        or types.is_string(t)
        or types.is_large_string(t)
        or (types.is_timestamp(t) and t.tz is None)
    )


def _reader_dtypes(path: str, pfile: Any, schema: Any, dask: bool) -> dict[str, Any]:
    """The dtype Lumen's reader (pandas, or dask for ``use_dask``) gives each column of the whole file."""
    import pyarrow as pa

    if dask:
        import dask.dataframe as dd

        # Building the collection reads only the footer; `_meta` is the empty frame of its dtypes.
        dtypes = dict(dd.read_parquet(path)._meta.dtypes)
    else:
        dtypes = dict(schema.empty_table().to_pandas().dtypes)
    nulls = _null_counts(pfile)
    categorical = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    if categorical:
        # The categories (and their order) of the whole file, as the reader unifies them across row groups.
        read = pd.read_parquet(path, columns=categorical)
        dtypes.update({c: read[c].dtype for c in categorical})
    for f in schema:
        if nulls.get(f.name, 1) == 0 or isinstance(dtypes[f.name], pd.api.extensions.ExtensionDtype):
            continue
        # numpy cannot hold a null: pandas widens the whole column as soon as one row has one.
        kind = np.dtype(dtypes[f.name]).kind
        if kind in "iu":
            dtypes[f.name] = np.dtype("float64")
        elif kind == "b":
            dtypes[f.name] = np.dtype("object")
    return dtypes


def _null_counts(pfile: Any) -> dict[str, int]:
    """Nulls per top-level column from the footer statistics; a column without statistics is left out."""
    md = pfile.metadata
    counts: dict[str, int] = {}
    unknown: set[str] = set()
    for r in range(md.num_row_groups):
        group = md.row_group(r)
        for c in range(group.num_columns):
            col = group.column(c)
            name = col.path_in_schema
            stats = col.statistics
            if stats is None or not stats.has_null_count:
                unknown.add(name)
            else:
                counts[name] = counts.get(name, 0) + stats.null_count
    return {k: v for k, v in counts.items() if k not in unknown}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- Lumen's Filter transform rules (transforms/base.py, Filter._apply_narwhals) in SQL ---------------------

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")


def _is_numeric_type(sql_type: str) -> bool:
    return sql_type.lstrip("U") in _NUMERIC


def _is_missing(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def _sql_value(value: Any, sql_type: str) -> str:
    """A literal comparable to a column of ``sql_type`` the way pandas compares; else not scannable."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        if sql_type != "BOOLEAN":
            raise NotScannable("boolean value on a non-boolean column")
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and _is_numeric_type(sql_type):
        if isinstance(value, float) and not math.isfinite(value):
            raise NotScannable("non-finite filter value")
        return repr(value) if isinstance(value, int) else repr(float(value))
    if isinstance(value, str) and sql_type == "VARCHAR":
        return _literal(value)
    # Dates and mixed kinds (a string on a numeric column, ...) compare differently in pandas and SQL.
    raise NotScannable(f"filter value {type(value).__name__} on a {sql_type} column")


def _range(col: str, sql_type: str, start: Any, end: Any) -> str | None:
    if _is_missing(start) and _is_missing(end):
        return None
    terms = []
    if not _is_missing(start):
        terms.append(f"{col} >= {_sql_value(start, sql_type)}")
    if not _is_missing(end):
        terms.append(f"{col} <= {_sql_value(end, sql_type)}")
    if sql_type in ("FLOAT", "DOUBLE"):
        terms.append(f"NOT isnan({col})")  # NaN sorts above every number in DuckDB; pandas never matches it
    return "(" + " AND ".join(terms) + ")"


def _condition(types: dict[str, str], name: str, value: Any) -> str | None:
    if name not in types:
        return None  # Lumen skips a condition on a column the frame does not have
    sql_type, col = types[name], quote(name)
    if sql_type.startswith(("TIMESTAMP", "DATE", "TIME")) or isinstance(value, dt.date | dt.time):
        raise NotScannable("temporal filter")
    if np.isscalar(value):
        if _is_missing(value):
            raise NotScannable("missing scalar filter value")
        return f"{col} = {_sql_value(value, sql_type)}"
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        ranges = [r for r in (_range(col, sql_type, *v) for v in value) if r is not None]
        return "(" + " OR ".join(ranges) + ")" if ranges else None
    if isinstance(value, list):
        if not value:
            return None
        members = [v for v in value if not _is_missing(v)]
        expr = f"{col} IN ({', '.join(_sql_value(v, sql_type) for v in members)})" if members else "FALSE"
        if len(members) != len(value) and not _is_numeric_type(sql_type):
            expr = f"({expr} OR {col} IS NULL)"
        return expr
    if isinstance(value, tuple) and len(value) == 2:
        return _range(col, sql_type, *value)
    raise NotScannable(f"filter value {value!r}")
