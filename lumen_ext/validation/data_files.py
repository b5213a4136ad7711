"""Which local files a spec's sources read: what a reloading server watches besides the spec itself.

Read from the spec as the validator reads it (Jinja neutralised, nothing executed, no data opened): the tables of
``file``, ``json`` and Dask sources (against the spec's folder, as Lumen's ``FileSource.root``), the paths a
DuckDB table expression reads and its ``uri`` database (against the working directory, which both doors set to the
spec's folder; LUMEN-NOTES §6.2 #17). A path only known at run time (a ``${...}`` template, a ``$variables``
reference that is not a constant, a Jinja value) and URLs are left out. A file that does not exist yet is listed
too: creating it is a change the server should see.
"""

from __future__ import annotations

import os
from pathlib import Path

from lumen_ext.validation.datasources import REMOTE, duckdb_table_paths
from lumen_ext.validation.loader import load_text
from lumen_ext.validation.model import DASK_SOURCES, URL_TEMPLATE, SourceDecl, SpecModel, build_model

__all__ = ["data_files", "spec_data_files"]


def spec_data_files(spec: Path) -> list[str]:
    """:func:`data_files` of the spec file ``spec``; none when it cannot be read or parsed."""
    try:
        text = spec.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return []
    loaded = load_text(text)
    if not loaded.parsed:
        return []
    return data_files(build_model(loaded.data), spec.resolve().parent)


def data_files(model: SpecModel, spec_dir: Path) -> list[str]:
    """Absolute paths (a glob stays a pattern) of the local files the sources of ``model`` read, sorted."""
    found: set[str] = set()
    for source in model.sources.values():
        for written in _written_paths(model, source):
            local = written.removeprefix("file://")
            if REMOTE.match(local) or URL_TEMPLATE.search(local) or not local.strip():
                continue
            found.add(os.path.normpath(spec_dir / os.path.expanduser(local)))
    return sorted(found)


def _written_paths(model: SpecModel, source: SourceDecl) -> list[str]:
    """The paths ``source`` names, as written in the spec."""
    values = []
    for table in (source.tables or {}).values():
        known, value = model.resolve(table.value)
        if known:
            values.append(value)
    if source.type in ("file", "json") or source.type in DASK_SOURCES:
        # A table is a path, or `[path, extension]`.
        return [v[0] if isinstance(v, list) and len(v) == 2 else v for v in values if _is_path(v)]
    if source.type == "duckdb":
        paths = [p for v in values if isinstance(v, str) for p in duckdb_table_paths(v)]
        known, uri = model.resolve(source.spec.get("uri"))
        if known and isinstance(uri, str) and uri not in ("", ":memory:"):
            paths.append(uri)
        return paths
    return []


def _is_path(value: object) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
    )
