"""Build the lock of one spec: every table the validator's reader can read, described by `facts` and
`fingerprint`; every other table named with the reason it is not locked (`lockfile` has the layout).

A table whose data should be here and is not (a missing file, SQL DuckDB rejects) is an error: the lock is not
written, rather than written without it, since ``--no-data`` would then silently stop checking that table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen_ext import __version__
from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.datasources import SourceReader
from lumen_ext.validation.diagnostics import Diagnostic
from lumen_ext.validation.loader import load_text
from lumen_ext.validation.lock.facts import table_facts
from lumen_ext.validation.lock.fingerprint import fingerprint
from lumen_ext.validation.lock.lockfile import FORMAT, declaration, generated_note, plain
from lumen_ext.validation.model import DASK_SOURCES, SourceDecl, TableDecl, build_model

__all__ = ["LockBuild", "build_lock"]

_READ_TYPES = frozenset({"file", "duckdb", *DASK_SOURCES})


@dataclass(slots=True)
class LockBuild:
    """The lock's data, or the errors that kept it from being built (``data`` None), for one spec."""

    text: str  # the spec's, for the reporter's excerpts
    data: dict | None = None
    errors: list[Diagnostic] = field(default_factory=list)


def build_lock(spec: Path, display: str, text: str) -> LockBuild:
    """The lock of the spec ``text`` read from ``spec`` (``display``: its path as the user typed it)."""
    result = LockBuild(text.removeprefix("\ufeff"))
    loaded = load_text(text)
    ctx = CheckContext(display, spec.resolve().parent, loaded)
    if not loaded.parsed:
        for problem in loaded.problems:
            ctx.emit(problem.span, problem.rule, problem.message, problem.hint)
        result.errors = ctx.diagnostics
        return result
    model = build_model(loaded.data)
    reader = SourceReader(ctx, model)
    sources: dict[str, Any] = {}
    try:
        for src in sorted(model.sources.values(), key=lambda s: s.name):
            sources[src.name] = _source(ctx, reader, src)
    finally:
        reader.close()
    result.errors = [d for d in ctx.diagnostics if d.severity == "error"]
    if not result.errors:
        result.data = {
            "generated": generated_note(spec.name),
            "format": FORMAT,
            "lumen_ext": __version__,
            "sources": sources,
        }
    return result


def _source(ctx: CheckContext, reader: SourceReader, src: SourceDecl) -> dict:
    out: dict[str, Any] = {"type": plain(src.type)}
    if src.tables is None:
        out["unlocked"] = "its tables are only known at run time"
        return out
    out["tables"] = {name: _table(ctx, reader, src, src.tables[name]) for name in sorted(src.tables, key=str)}
    return out


def _table(ctx: CheckContext, reader: SourceReader, src: SourceDecl, decl: TableDecl) -> dict:
    entry: dict[str, Any] = {"declared": declaration(src, decl)}
    seen = len(ctx.diagnostics)
    cols = reader.columns(src.name, decl.name)
    found = ctx.diagnostics[seen:]
    origin = reader.origins.get((src.name, decl.name))
    if cols is None or origin is None or not cols.closed:
        entry["unlocked"] = _unlocked_reason(src, cols, found)
        return entry
    files = fingerprint(origin.files, ctx.spec_dir)
    try:
        facts = table_facts(origin, cols.names, json.dumps(files), reader.connection(src.name))
    except (
        Exception
    ) as exc:  # pandas, pyarrow and DuckDB raise many unrelated types for data they cannot read
        message = f"table `{decl.name}` of source `{src.name}`: its column types cannot be read ({exc})"
        ctx.report(decl.path, "data-unchecked", message, target="key", severity="error")
        return entry
    entry["columns"] = facts.columns
    if facts.rows is not None:
        entry["rows"] = facts.rows
    entry["fingerprint"] = files
    return entry


def _unlocked_reason(src: SourceDecl, cols: Any, found: list[Diagnostic]) -> str:
    warnings = [d.message for d in found if d.rule == "data-unchecked"]
    if warnings:
        return warnings[0]
    if src.type == "join":
        return "a join: its columns are those of the tables it joins"
    if src.type not in _READ_TYPES:
        return f"lumen-ext does not read the data of `{src.type}` sources"
    if cols is not None:
        return "its reader options leave the columns open: lumen-ext cannot tell them all"
    return (
        "its columns are only known at run time (a path or SQL taken from a variable or a template, or a file "
        "type lumen-ext does not read)"
    )
