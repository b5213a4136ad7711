"""`lumen-ext validate`'s use of a lock file beyond standing in for absent data: where the spec and the lock
no longer agree, and, when the data is here, where the data and the lock no longer agree (drift).

Every finding points at the table's name in the spec (or the source's, for a source the lock does not know).
Severities: a column gone from the data that the spec uses is an error (Lumen would fail on it; the use site
also gets its `unknown-column`); one nothing uses, a changed type, new columns, changed content or a table the
lock does not cover are warnings, since the dashboard may well still work but the lock, and so every
``--no-data`` check against it, is out of date.

The data's types are compared only when its fingerprint differs from the lock's (`lock.facts` says what that
costs): the common case, unchanged data, costs a hash of each file (a Parquet footer, a small CSV).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lumen_ext.validation.lock.facts import table_facts
from lumen_ext.validation.lock.fingerprint import fingerprint

if TYPE_CHECKING:
    from lumen_ext.validation.context import CheckContext
    from lumen_ext.validation.datasources import SourceReader
    from lumen_ext.validation.loader import Path
    from lumen_ext.validation.lock.lockfile import SpecLock, TableEntry
    from lumen_ext.validation.model import SourceDecl, SpecModel, TableDecl

__all__ = ["check_lock"]


def check_lock(
    ctx: CheckContext, model: SpecModel, reader: SourceReader, lock: SpecLock, unknown_uses: dict[str, Path]
) -> None:
    relock = f"run `lumen-ext lock {ctx.file}` to update it"
    for src in model.sources.values():
        if src.tables is None:
            if src.name not in lock.source_types:
                _stale(ctx, src.path, f"source `{src.name}` is not in `{lock.name}`", relock)
            continue
        for decl in src.tables.values():
            where = f"table `{decl.name}` of source `{src.name}`"
            recorded = lock.recorded(src.name, decl.name)
            if recorded is None:
                message = f"{where} is not in `{lock.name}`, so --no-data cannot check its columns"
                _stale(ctx, decl.path, message, relock)
            elif lock.entry(src, decl) is None:
                message = f"{where} is declared differently from when it was locked, so `{lock.name}` is not used for it"
                _stale(ctx, decl.path, message, relock)
            elif recorded.columns is not None and (src.name, decl.name) in reader.origins:
                _drift(ctx, reader, lock, src, decl, recorded, unknown_uses, relock)
    for source, tables in lock.tables.items():
        src = model.sources.get(source)
        if src is None:
            message = f"`{lock.name}` lists source `{source}`, which the spec no longer declares"
            _stale(ctx, ("sources",), message, relock)
        elif src.tables is not None:
            for table in sorted(set(tables) - set(src.tables)):
                message = f"`{lock.name}` lists table `{table}` of source `{source}`, which the spec no longer declares"
                _stale(ctx, src.path, message, relock)


def _stale(ctx: CheckContext, path: Path, message: str, hint: str) -> None:
    ctx.report(path, "lock-stale", message, hint, target="key")


def _drift(
    ctx: CheckContext,
    reader: SourceReader,
    lock: SpecLock,
    src: SourceDecl,
    decl: TableDecl,
    entry: TableEntry,
    unknown_uses: dict[str, Path],
    relock: str,
) -> None:
    origin = reader.origins[(src.name, decl.name)]
    current = fingerprint(origin.files, ctx.spec_dir)
    if current == entry.fingerprint:
        return
    cols = reader.columns(src.name, decl.name)
    if cols is None or not cols.closed:
        return
    where = f"table `{decl.name}` of source `{src.name}`"
    try:
        facts = table_facts(origin, cols.names, json.dumps(current))
    except Exception as exc:  # pandas and pyarrow raise many unrelated types for a file they cannot parse
        message = f"{where}: its data changed since it was locked and its column types cannot be read ({exc})"
        ctx.report(decl.path, "data-unchecked", message, relock, target="key")
        return
    locked = entry.columns or {}
    gone = [c for c in locked if c not in facts.columns]
    for name in gone:
        use = unknown_uses.get(name)
        used = f", and the spec uses it (line {ctx.loaded.locate(use).line})" if use is not None else ""
        ctx.report(
            decl.path,
            "lock-column-missing",
            f"column `{name}` of {where} is gone from the data (it is in `{lock.name}`){used}",
            relock,
            target="key",
            severity=None if use is not None else "warning",
        )
    changed = [
        (c, locked[c], facts.columns[c])
        for c in locked
        if c in facts.columns and locked[c] != facts.columns[c]
    ]
    for name, old, new in changed:
        ctx.report(
            decl.path,
            "lock-type-changed",
            f"column `{name}` of {where} is {new} in the data but {old} in `{lock.name}`",
            relock,
            target="key",
        )
    added = [c for c in facts.columns if c not in locked]
    if added:
        names = ", ".join(f"`{c}`" for c in added)
        columns, them = ("columns", "them") if len(added) > 1 else ("a column", "it")
        message = f"{where} has {columns} `{lock.name}` does not list: {names}; --no-data would report {them} unknown"
        _stale(ctx, decl.path, message, relock)
    if not (gone or changed or added):
        files = _changed_files(entry.fingerprint or [], current)
        message = f"the data of {where} changed since it was locked ({files}); its columns and types did not"
        _stale(ctx, decl.path, message, relock)


def _changed_files(old: list, new: list[dict]) -> str:
    before = {str(e.get("file")): e for e in old if isinstance(e, dict)}
    after = {e["file"]: e for e in new}
    changed = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
    return ", ".join(f"`{f}`" for f in changed[:3]) + (
        f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    )
