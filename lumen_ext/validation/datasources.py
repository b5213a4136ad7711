"""Read the column names of a source's tables without loading the data.

CSV: the header line (``csv`` module); Parquet: the footer (``pyarrow.parquet.read_schema``); JSON: the keys of
the records; DuckDB: ``DESCRIBE`` of the table expression. pyarrow and duckdb are imported only when a spec needs
them. Nothing the spec says is executed: DuckDB ``initializers`` are not run, and a table expression is described
only when it is a single SELECT (DuckDB's own parser decides), with extension auto-loading off.

Paths resolve like Lumen's: file sources against the spec folder (``FileSource.root``), DuckDB against the
process working directory (LUMEN-NOTES §6.2 #17), which is almost never what the author meant, so DuckDB paths are
looked up in the spec folder and a warning says Lumen will need to run from there.

With a lock file (`lumen_ext.validation.lock`), a table whose data cannot be read here (moved away, or
``--no-data``) gets the columns the lock recorded, and each table read records where it came from
(`TableOrigin`) for the lock's fingerprint and types.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import DASK_SOURCES, URL_TEMPLATE, SourceDecl, SpecModel, TableDecl

if TYPE_CHECKING:
    from lumen_ext.validation.lock.lockfile import SpecLock

REMOTE = re.compile(r"^[a-zA-Z][\w+.-]*://")
_DUCKDB_FILE_EXTS = (".csv", ".parquet", ".json", ".jsonl", ".ndjson", ".tsv")  # duckdb.py _is_file_path
_TABLE_FUNCTION = re.compile(r"^[A-Za-z_]\w*\s*\(.*\)$", re.DOTALL)  # duckdb.py TABLE_FUNCTION
_SQL_PATHS = re.compile(r"(?i)(?:read_\w+\s*\(\s*\[?\s*|\bfrom\s+)'([^']+)'")
_JSON_LIMIT = 32 * 1024 * 1024  # reading JSON keys means parsing the file; beyond this, do not try
# CSV reader options that do not change which columns come out.
_CSV_NEUTRAL = {
    "parse_dates", "dtype", "na_values", "keep_default_na", "low_memory", "thousands", "decimal", "comment",
    "quotechar", "encoding", "skipinitialspace", "true_values", "false_values", "date_format", "dayfirst",
    "assume_missing", "blocksize", "storage_options", "na_filter", "engine", "on_bad_lines", "skip_blank_lines",
}  # fmt: skip


@dataclass(slots=True)
class Columns:
    """Every column a table may have; with ``closed`` False, columns outside ``names`` may exist too."""

    names: tuple[str, ...] = ()
    closed: bool = True
    locked_in: str | None = None  # the lock file they come from, when the data itself was not read

    def missing(self, name: Any) -> bool:
        return self.closed and str(name) not in self.names


@dataclass(slots=True)
class TableOrigin:
    """Where the reader found a table's columns: what `lumen-ext lock` fingerprints and reads types from."""

    kind: str  # "csv", "parquet" or "json" (file sources), "duckdb"
    files: tuple[FsPath, ...]  # every local file the table reads (a folder: a Parquet dataset)
    kwargs: dict = field(default_factory=dict)  # a file source's reader options
    types: tuple[str, ...] = ()  # DuckDB: the types DESCRIBE gave, one per column
    count_sql: str | None = None  # DuckDB: a row count answered from metadata, when there is one


@dataclass(slots=True)
class SourceReader:
    """Columns of each table. ``data`` False reads no data (``--no-data``): only the ``lock``'s columns."""

    ctx: CheckContext
    model: SpecModel
    data: bool = True
    lock: SpecLock | None = None
    origins: dict[tuple[str, str], TableOrigin] = field(default_factory=dict)
    _cache: dict[tuple[str, str], Columns | None] = field(default_factory=dict)
    _duckdb: dict[str, Any] = field(default_factory=dict)

    def columns(self, source: str, table: str | None) -> Columns | None:
        """The columns of ``source.table``, or None when they cannot be known before run time."""
        src = self.model.sources.get(source)
        if src is None or src.tables is None:
            return None
        if table is None:
            if len(src.tables) != 1:
                return None
            table = next(iter(src.tables))
        key = (source, str(table))
        if key not in self._cache:
            self._cache[key] = None  # guards against join cycles
            decl = src.tables.get(str(table))
            cols = None
            if decl is not None:
                if self.data or src.type == "join":  # a join reads no data of its own
                    cols = self._read(src, str(table), decl)
                if cols is None and self.lock is not None:
                    # The data is away (a lock entry exists only for tables this reader could read).
                    cols = self.lock.columns(src, decl)
            self._cache[key] = cols
        return self._cache[key]

    def connection(self, source: str):
        """The DuckDB connection the reader opened for ``source``, if any."""
        return self._duckdb.get(source)

    def _lock_hint(self, source: str, table: str | None = None) -> str | None:
        """What to do when locked data is missing here: the lock stands in, and ``--no-data`` says so."""
        src = self.model.sources.get(source)
        if self.lock is None or src is None or not src.tables:
            return None
        # One table's file, or (no table: the source's database) any of its tables.
        decls = (
            list(src.tables.values()) if table is None else [src.tables[table]] if table in src.tables else []
        )
        if not any(self.lock.columns(src, d) is not None for d in decls):
            return None
        return (
            f"its columns were checked against `{self.lock.name}`; pass --no-data where the data is away on "
            "purpose (CI)"
        )

    def _read(self, src: SourceDecl, table: str, decl) -> Columns | None:
        known, value = self.model.resolve(decl.value)
        if not known:
            return None  # e.g. a path taken from a widget variable: only known at run time
        decl = TableDecl(decl.name, decl.path, value)
        try:
            if src.type == "file" or src.type in DASK_SOURCES:
                return self._file_table(src, table, decl.path, decl.value)
            if src.type == "json":
                return self._json_table(src, decl.path, decl.value)
            if src.type == "duckdb":
                return self._duckdb_table(src, table, decl.path, decl.value)
            if src.type == "join":
                return self._join_table(decl.value)
        except _Unreadable as exc:
            self.ctx.report(
                decl.path, "data-unchecked", f"table `{table}`: {exc}; its columns were not checked"
            )
        return None

    # -- file and json sources ---------------------------------------------------------------------------

    def _file_table(self, src: SourceDecl, table: str, path: Path, value: Any) -> Columns | None:
        ext = None
        if isinstance(value, list) and len(value) == 2:
            value, ext = value
            path = (*path, 0)
        if not isinstance(value, str):
            return None
        if REMOTE.match(value) and not value.startswith("file://"):
            raise _Unreadable(f"`{_short(value)}` is remote and lumen-ext does not fetch data")
        local = value.removeprefix("file://")
        if URL_TEMPLATE.search(local):
            return None  # crashes Lumen on local paths; reported by lumen_bugs
        files = self._local_files(path, local, self.ctx.spec_dir, self._lock_hint(src.name, table))
        if not files:
            return None
        ext = (ext or _suffix(local)).lower()
        kwargs = src.spec.get("kwargs") if isinstance(src.spec.get("kwargs"), dict) else {}
        if ext == "csv":
            cols = _csv_columns(files[0], kwargs)
        elif ext in ("parq", "parquet"):
            ext, cols = "parquet", _parquet_columns(files[0], kwargs.get("columns"))
        elif ext == "json":
            cols = _json_columns(files[0], kwargs)
        else:
            return None
        self.origins[(src.name, table)] = TableOrigin(ext, tuple(files), kwargs)
        return cols

    def _local_files(self, path: Path, local: str, root: FsPath, hint: str | None = None) -> list[FsPath]:
        full = root / os.path.expanduser(local)
        if any(ch in local for ch in "*?["):
            matches = sorted(glob.glob(str(full)))
            if matches:
                return [FsPath(m) for m in matches]
        elif _exists(full):
            return [full]
        self.ctx.report(
            path,
            "missing-data-file",
            f"data file `{local}` does not exist"
            + (
                ""
                if os.path.isabs(local)
                else " (file sources resolve relative paths against the spec's folder)"
            ),
            did_you_mean(os.path.basename(local), _siblings(full), "files", list_all=False) or hint,
        )
        return []

    def _json_table(self, src: SourceDecl, path: Path, value: Any) -> Columns | None:
        # A local path crashes Lumen's JSONSource (reported by lumen_bugs); a URL is never fetched.
        if isinstance(value, str) and REMOTE.match(value):
            raise _Unreadable(f"`{_short(value)}` is remote and lumen-ext does not fetch data")
        return None

    def _join_table(self, value: Any) -> Columns | None:
        if not isinstance(value, list):
            return None
        names: list[str] = []
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
                return None
            cols = self.columns(entry["source"], entry.get("table"))
            if cols is None or not cols.closed:
                return None
            names.extend(c for c in cols.names if c not in names)
        return Columns(tuple(names))

    # -- duckdb -------------------------------------------------------------------------------------------

    def _duckdb_table(self, src: SourceDecl, table: str, path: Path, value: Any) -> Columns | None:
        if not isinstance(value, str):
            return None
        sql_paths = duckdb_table_paths(value)
        remote = [p for p in sql_paths if REMOTE.match(p)]
        if remote:
            raise _Unreadable(f"`{_short(remote[0])}` is remote and lumen-ext does not fetch data")
        relative = [p for p in sql_paths if not os.path.isabs(os.path.expanduser(p))]
        if value.lower().endswith(_DUCKDB_FILE_EXTS):
            expr = f"SELECT * FROM '{value}'"
        elif value.strip().upper().startswith(("SELECT", "WITH", "FROM")):
            expr = value
        elif _TABLE_FUNCTION.match(value.strip()):
            expr = f"SELECT * FROM {value.strip()}"
        else:
            expr = f'SELECT * FROM "{value}"' if value == table else value
        con = self._duckdb_connection(src)
        if con is None:
            return None
        import duckdb

        try:
            statements = con.extract_statements(expr)
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                raise _Unreadable("the table expression is not a single SELECT, so lumen-ext does not run it")
            described = con.execute(f"DESCRIBE {expr}").fetchall()
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if "Table with name" in message and not sql_paths:
                self.ctx.report(
                    path,
                    "undefined-table",
                    f"table `{value}` does not exist in DuckDB database `{src.spec.get('uri') or ':memory:'}`",
                )
                return None
            if "No files found" in message or ("does not exist" in message and sql_paths):
                missing = relative[0] if relative else sql_paths[0] if sql_paths else value
                self.ctx.report(
                    path,
                    "missing-data-file",
                    f"DuckDB cannot find `{missing}` (looked in the spec's folder)",
                    self._lock_hint(src.name, table),
                )
                return None
            if src.spec.get("initializers"):
                raise _Unreadable(f"DuckDB: {message} (the source's `initializers` were not run)") from exc
            self.ctx.report(path, "invalid-value", f"DuckDB cannot read table `{table}`: {message}")
            return None
        if relative:
            self.ctx.report(
                path,
                "duckdb-cwd",
                f"DuckDB resolves `{relative[0]}` against the working directory of the Lumen process, not the "
                "spec's folder; it was found in the spec's folder",
                "start Lumen from the spec's folder, or use an absolute path",
            )
        self.origins[(src.name, table)] = TableOrigin(
            "duckdb",
            self._duckdb_files(src, sql_paths),
            types=tuple(row[1] for row in described),
            count_sql=_metadata_count(value, table),
        )
        return Columns(tuple(row[0] for row in described))

    def _duckdb_files(self, src: SourceDecl, sql_paths: list[str]) -> tuple[FsPath, ...]:
        """The local files a DuckDB table reads: those its SQL names (globs expanded), and the database with
        its write-ahead log (changes not yet checkpointed into the database file)."""
        files: list[FsPath] = []
        uri = src.spec.get("uri")
        if isinstance(uri, str) and uri != ":memory:":
            files += [self.ctx.spec_dir / uri, self.ctx.spec_dir / f"{uri}.wal"]
        for p in sql_paths:
            full = self.ctx.spec_dir / os.path.expanduser(p)
            if glob.has_magic(p):
                files.extend(FsPath(m) for m in sorted(glob.glob(str(full))))
            else:
                files.append(full)
        return tuple(f for f in files if _exists(f))

    def _duckdb_connection(self, src: SourceDecl):
        if src.name in self._duckdb:
            return self._duckdb[src.name]
        import duckdb

        uri = src.spec.get("uri") or ":memory:"
        if not isinstance(uri, str) or uri.startswith("$"):
            # A list or a number: the schema check reports it. A `$variables.x` reference (a secure variable
            # holding a connection string, typically): known at run time only, like a Jinja value.
            self._duckdb[src.name] = None
            return None
        con = None
        try:
            if uri == ":memory:":
                con = duckdb.connect(":memory:")
            else:
                db = self.ctx.spec_dir / uri
                if not _exists(db):
                    self.ctx.report(
                        (*src.path, "uri"),
                        "missing-data-file",
                        f"DuckDB database `{uri}` does not exist",
                        self._lock_hint(src.name),
                    )
                    self._duckdb[src.name] = None
                    return None
                con = duckdb.connect(str(db), read_only=True)
            # Never download or load extensions on the user's behalf, then freeze the settings.
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute(f"SET file_search_path = '{str(self.ctx.spec_dir).replace(chr(39), chr(39) * 2)}'")
            con.execute("SET lock_configuration = true")
        except duckdb.Error as exc:
            self.ctx.report((*src.path, "uri"), "data-unchecked", f"DuckDB could not open `{uri}`: {exc}")
            con = None
        self._duckdb[src.name] = con
        return con

    def close(self) -> None:
        for con in self._duckdb.values():
            if con is not None:
                con.close()
        self._duckdb.clear()


class _Unreadable(Exception):
    """The data exists (or may) but cannot be inspected from here; reported as a warning."""


def duckdb_table_paths(value: str) -> list[str]:
    """The file paths (or URLs, or globs) a DuckDB table expression reads, as written: a bare file name, or the
    quoted paths of ``read_*('...')`` and ``FROM '...'``."""
    return [value] if value.lower().endswith(_DUCKDB_FILE_EXTS) else _SQL_PATHS.findall(value)


def _siblings(path: FsPath) -> list[str]:
    try:
        return sorted(p.name for p in path.parent.iterdir() if p.is_file())[:200]
    except OSError:
        return []


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _exists(path: FsPath) -> bool:
    """``Path.exists`` that says False for a path the OS cannot even look up (a NUL written as ``"\\0"``)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _metadata_count(value: str, table: str) -> str | None:
    """A ``count(*)`` DuckDB answers without a scan: of a stored table, or of a single Parquet file."""
    if value == table and not value.lower().endswith(_DUCKDB_FILE_EXTS):
        return f'SELECT count(*) FROM "{value}"'
    if value.lower().endswith(".parquet") and not glob.has_magic(value):
        return "SELECT count(*) FROM '{}'".format(value.replace("'", "''"))
    return None


def _suffix(path: str) -> str:
    m = re.search(r"\.(\w+)$", os.path.basename(path))
    return m.group(1) if m else ""


def _csv_columns(file: FsPath, kwargs: dict) -> Columns:
    unknown_kwargs = (
        set(kwargs) - _CSV_NEUTRAL - {"sep", "delimiter", "skiprows", "header", "names", "usecols"}
    )
    names = kwargs.get("names")
    usecols = kwargs.get("usecols")
    if isinstance(names, list):
        cols = tuple(str(n) for n in names)
    else:
        header = kwargs.get("header", 0)
        skip = kwargs.get("skiprows", 0)
        if (header is not None and not isinstance(header, int)) or not isinstance(skip, int):
            return Columns((), closed=False)
        sep = kwargs.get("sep", kwargs.get("delimiter", ","))
        encoding = kwargs.get("encoding", "utf-8")
        try:
            with open(file, encoding=encoding if isinstance(encoding, str) else "utf-8", newline="") as fh:
                head = [line for _, line in zip(range(skip + (header or 0) + 1), fh, strict=False)]
        except (OSError, UnicodeDecodeError, LookupError):
            return Columns((), closed=False)
        if not head or len(head) <= skip + (header or 0):
            return Columns(())
        row = next(csv.reader(io.StringIO(head[-1]), delimiter=sep if len(str(sep)) == 1 else ","))
        cols = tuple(str(i) for i in range(len(row))) if header is None else tuple(c.strip() for c in row)
    if isinstance(usecols, list) and all(isinstance(c, str) for c in usecols):
        cols = tuple(c for c in cols if c in usecols)
    return Columns(cols, closed=not unknown_kwargs and (len(str(kwargs.get("sep", ","))) == 1))


def _parquet_columns(file: FsPath, selected: Any = None) -> Columns:
    """The file's columns; with ``columns: [...]`` in the reader's kwargs (pandas' and Dask's ``read_parquet``
    read only those, in that order), the ones of those the file has."""
    try:
        if file.is_dir():
            import pyarrow.dataset as ds

            schema = ds.dataset(str(file), format="parquet").schema
        else:
            import pyarrow.parquet as pq

            schema = pq.read_schema(str(file))
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise _Unreadable(f"pyarrow cannot read the Parquet schema of `{file.name}` ({exc})") from exc
    names = [n for n in schema.names if not n.startswith("__index_level_")]
    if isinstance(selected, list) and all(isinstance(c, str) for c in selected):
        names = [c for c in selected if c in names]
    return Columns(tuple(names))


def _json_columns(file: FsPath, kwargs: dict) -> Columns:
    if kwargs.get("orient") not in (None, "records", "columns") or kwargs.get("lines"):
        return Columns((), closed=False)
    if file.stat().st_size > _JSON_LIMIT:
        return Columns((), closed=False)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _Unreadable(f"`{file.name}` is not valid JSON ({exc})") from exc
    names: list[str] = []
    if isinstance(data, list):
        for record in data[:1000]:
            if isinstance(record, dict):
                names.extend(str(k) for k in record if str(k) not in names)
    elif isinstance(data, dict):
        names = [str(k) for k in data]
    return Columns(tuple(names))
