"""The lock file of a spec: ``NAME.lock.json`` beside ``NAME.yaml``, written by `lumen-ext lock`.

JSON, not YAML: ``lumen-ext validate FOLDER`` reads every ``*.yaml`` in it as a spec, and YAML 1.1 would read
a column called ``no`` or ``on`` as a boolean. Layout (keys in this order, sources and tables sorted by name,
columns in the data's order, so that a diff shows what changed)::

    {
      "generated": "by `lumen-ext lock`; do not edit ...",
      "format": 1,
      "lumen_ext": "0.1.0",
      "sources": {
        "usgs": {
          "type": "file",
          "tables": {
            "events": {
              "declared": {"table": "../sources/earthquakes.csv", "kwargs": {...}},
              "columns": {"time": "datetime", "mag": "number", ...},
              "rows": 596,
              "fingerprint": [{"file": "../sources/earthquakes.csv", "bytes": 60184, "blake2b": "...", "of": "content"}]
            },
            "live": {"declared": {...}, "unlocked": "why lumen-ext could not read its columns"}
          }
        },
        "catalog": {"type": "intake", "unlocked": "its tables are only known at run time"}
      }
    }

``declared`` is what in the spec decides the table's columns (the table's value, the reader's ``kwargs``, the
DuckDB ``uri``): an entry is used only while the spec still declares the table that way. ``fingerprint`` is
`lumen_ext.validation.lock.fingerprint`'s; ``rows`` is left out when counting would cost a query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen_ext.validation.datasources import Columns
from lumen_ext.validation.lock.column_types import TYPES
from lumen_ext.validation.model import SourceDecl, TableDecl

__all__ = ["FORMAT", "LockError", "SpecLock", "declaration", "dumps", "lock_path", "read_lock"]

FORMAT = 1
SUFFIX = ".lock.json"


class LockError(ValueError):
    """The lock file cannot be used: not JSON, another format, or a shape `lumen-ext lock` never writes."""


def lock_path(spec: Path) -> Path:
    """``specs/earthquakes.yaml`` -> ``specs/earthquakes.lock.json``."""
    return spec.with_name(spec.stem + SUFFIX)


def generated_note(spec_name: str) -> str:
    return f"by `lumen-ext lock`; do not edit: run `lumen-ext lock {spec_name}` again when the data changes"


def plain(value: Any) -> Any:
    """``value`` as JSON reads it back (YAML may hold dates or tuples), so a fresh declaration compares equal."""
    return json.loads(json.dumps(value, default=str))


def declaration(src: SourceDecl, decl: TableDecl) -> dict:
    """What in the spec decides the columns of ``decl``: its value, and the source's reader options."""
    out: dict[str, Any] = {"table": decl.value}
    for key in ("kwargs", "uri"):  # file and dask sources' reader options; DuckDB's database
        if key in src.spec:
            out[key] = src.spec[key]
    return plain(out)


@dataclass(frozen=True, slots=True)
class TableEntry:
    declared: Any
    columns: dict[str, str] | None  # None: the table is recorded as unlocked
    fingerprint: list | None
    unlocked: str | None


@dataclass(slots=True)
class SpecLock:
    path: Path  # of the lock file
    name: str  # as the user sees it in messages
    source_types: dict[str, Any]
    tables: dict[str, dict[str, TableEntry]]  # source -> table -> entry; sources with run-time tables: {}
    unlocked_sources: dict[str, str]  # source -> why its tables are not in the lock

    def recorded(self, source: str, table: str) -> TableEntry | None:
        return self.tables.get(source, {}).get(table)

    def entry(self, src: SourceDecl, decl: TableDecl) -> TableEntry | None:
        """The entry of ``decl``, when the spec still declares it as it was locked."""
        entry = self.recorded(src.name, decl.name)
        if entry is None or self.source_types.get(src.name) != src.type:
            return None
        return entry if entry.declared == declaration(src, decl) else None

    def columns(self, src: SourceDecl, decl: TableDecl) -> Columns | None:
        entry = self.entry(src, decl)
        if entry is None or entry.columns is None:
            return None
        return Columns(tuple(entry.columns), locked_in=self.name)


def read_lock(path: Path, name: str) -> SpecLock:
    """Parse the lock file at ``path`` (``name``: how messages call it); raises `LockError`, `OSError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LockError(f"it is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise LockError("it has no `sources` mapping")
    if data.get("format") != FORMAT:
        raise LockError(f"it is in format {data.get('format')!r}; this lumen-ext reads format {FORMAT}")
    lock = SpecLock(path, name, {}, {}, {})
    for source, sdata in data["sources"].items():
        if not isinstance(sdata, dict):
            raise LockError(f"source `{source}` is not a mapping")
        lock.source_types[source] = sdata.get("type")
        if isinstance(sdata.get("unlocked"), str):
            lock.unlocked_sources[source] = sdata["unlocked"]
        tables = sdata.get("tables", {})
        if not isinstance(tables, dict):
            raise LockError(f"the tables of source `{source}` are not a mapping")
        lock.tables[source] = {str(t): _entry(source, str(t), e) for t, e in tables.items()}
    return lock


def _entry(source: str, table: str, data: Any) -> TableEntry:
    where = f"table `{table}` of source `{source}`"
    if not isinstance(data, dict) or "declared" not in data:
        raise LockError(f"{where} has no `declared` value")
    if isinstance(data.get("unlocked"), str):
        return TableEntry(data["declared"], None, None, data["unlocked"])
    columns = data.get("columns")
    if not isinstance(columns, dict) or not all(t in TYPES for t in columns.values()):
        raise LockError(f"{where} has no `columns` mapping of names to types ({', '.join(TYPES)})")
    fingerprint = data.get("fingerprint")
    if not isinstance(fingerprint, list):
        raise LockError(f"{where} has no `fingerprint` list")
    return TableEntry(data["declared"], columns, fingerprint, None)


def dumps(data: dict) -> str:
    """The file's text: two-space indents, one column per line, a list or mapping of plain values (a fingerprint
    entry, ``parse_dates: [time]``) on one line, non-ASCII kept as is, a final newline."""
    return _dump(data, "", None) + "\n"


def _dump(value: Any, indent: str, key: str | None) -> str:
    scalar = (str, int, float, bool, type(None))
    if not isinstance(value, dict | list) or (
        key != "columns"
        and all(isinstance(v, scalar) for v in (value.values() if isinstance(value, dict) else value))
    ):
        return json.dumps(value, ensure_ascii=False)
    inner = indent + "  "
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, inner, k)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}" if items else "{}"
    items = [inner + _dump(v, inner, None) for v in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]" if items else "[]"
