"""The security lint's checks of sources: the files and URLs they read, the SQL a DuckDB source runs, and the
cache folder Lumen deletes on reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lumen_ext.security.paths import is_inside, resolve_under, url_scheme
from lumen_ext.validation.model import FILE_SOURCES
from lumen_ext.validation.security_lint_base import Path_, SpecLinter, text_or_none

__all__ = ["SourceChecks"]

_DUCKDB_FILE = re.compile(r"\.(csv|tsv|parquet|parq|json|jsonl|ndjson)$", re.IGNORECASE)
_SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
_SQL_SIDE_EFFECT = re.compile(
    r"^\s*(INSTALL|FORCE\s+INSTALL|LOAD|ATTACH|DETACH|COPY|EXPORT|IMPORT|PRAGMA|CALL|CREATE\s+SECRET)\b",
    re.IGNORECASE | re.MULTILINE,
)


def _table_locations(tables: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """(path, location) of each table of a file/json source: a list or mapping of paths, or `[path, ext]`."""
    items = (
        tables.items() if isinstance(tables, dict) else enumerate(tables) if isinstance(tables, list) else ()
    )
    for key, entry in items:
        if isinstance(entry, list) and entry:
            yield (*path, key, 0), entry[0]
        else:
            yield (*path, key), entry


class SourceChecks(SpecLinter):
    # -- sources -----------------------------------------------------------------------------------------------

    def source(self, path: Path_, spec: dict) -> None:
        stype = spec.get("type")
        cache_dir = spec.get("cache_dir")
        if isinstance(cache_dir, str) and cache_dir:
            self.cache_dir((*path, "cache_dir"), cache_dir)
        if text_or_none(stype) in FILE_SOURCES:
            self.file_tables(path, spec)
        elif stype == "duckdb":
            self.duckdb(path, spec)

    def cache_dir(self, path: Path_, value: str) -> None:
        resolved = resolve_under(value, self.spec_dir)
        if not is_inside(resolved, self.roots):
            self.add(
                path,
                "unsafe-cache-dir",
                f"cache_dir `{value}` resolves to {resolved}, outside the project; Lumen deletes the whole "
                "directory (shutil.rmtree) when a viewer reloads",
                "use a folder inside the spec's folder, e.g. `cache_dir: cache`",
            )
        elif not is_inside(resolved, self.roots, strictly=True) or self.spec_dir.is_relative_to(resolved):
            self.add(
                path,
                "unsafe-cache-dir",
                f"cache_dir `{value}` is the project folder itself; Lumen deletes the whole directory "
                "(shutil.rmtree) when a viewer reloads, spec and data included",
                "use a dedicated subfolder, e.g. `cache_dir: cache`",
            )

    def file_tables(self, path: Path_, spec: dict) -> None:
        tables = spec.get("tables")
        tables_path = (*path, "tables")
        if viewer := self.viewer_variables(tables):
            self.add(
                tables_path,
                "viewer-path",
                f"the tables of this source come from {self.describe(viewer)}: a viewer chooses which file or "
                "URL the server reads; lumen-ext serve confines it to the project, plain Lumen does not",
                "offer the choices as a `widget` filter or a constant",
            )
        tables = self.constant_value(tables)
        for entry_path, location in _table_locations(tables, tables_path):
            location = self.constant_value(location)
            # Templates (`${...}`) and references are filled in at run time; the runtime guard checks the result.
            if isinstance(location, str) and "$" not in location:
                self.location(entry_path, location)

    def location(self, path: Path_, location: str, *, duckdb: bool = False) -> None:
        scheme = url_scheme(location)
        if scheme == "file":
            self.add(
                path,
                "path-outside-project",
                f"`{location}` is a file:// URL, which lumen-ext serve refuses",
                "write a path relative to the spec's folder",
                severity="error",
            )
        elif scheme is not None:
            if duckdb and not self.policy.duckdb_external_access:
                self.add(
                    path,
                    "path-outside-project",
                    f"DuckDB reads `{location}` over the network; lumen-ext serve runs DuckDB without external "
                    "access unless the policy sets `duckdb_external_access = true`",
                )
            elif not duckdb and scheme not in self.policy.allowed_url_schemes:
                self.add(
                    path,
                    "path-outside-project",
                    f"`{scheme}://` URLs are not in the server's allowed_url_schemes "
                    f"({', '.join(self.policy.allowed_url_schemes)})",
                    "the operator can add the scheme to `allowed_url_schemes`",
                    severity="error",
                )
        elif "{{" not in location:
            resolved = resolve_under(location, self.spec_dir)
            if not is_inside(resolved, self.roots):
                self.add(
                    path,
                    "path-outside-project",
                    f"`{location}` resolves to {resolved}, outside the project folder {self.roots[0]}; "
                    "lumen-ext serve refuses it unless the directory is in the policy's `allowed_dirs`",
                    "move the data beside the spec, or have the operator allow its directory",
                )

    def duckdb(self, path: Path_, spec: dict) -> None:
        uri = spec.get("uri")
        if (
            isinstance(uri, str)
            and uri not in ("", ":memory:")
            and not uri.startswith(("md:", "motherduck:"))
        ):
            self.location((*path, "uri"), uri, duckdb=True)
        initializers = spec.get("initializers")
        for i, sql in enumerate(initializers if isinstance(initializers, list) else []):
            if isinstance(sql, str):
                self.duckdb_sql((*path, "initializers", i), sql)
        tables = spec.get("tables")
        if viewer := self.viewer_variables(tables):
            self.add(
                (*path, "tables"),
                "viewer-sql",
                f"the SQL of this source uses {self.describe(viewer)}, which a viewer controls",
                "filter with a `widget` filter, which Lumen turns into quoted SQL literals",
            )
        if isinstance(tables, dict):
            for name, expr in tables.items():
                if isinstance(expr, str):
                    self.duckdb_sql((*path, "tables", name), expr)
        for key in ("sql_expr",):
            if isinstance(spec.get(key), str) and (viewer := self.viewer_variables(spec[key])):
                self.add(
                    (*path, key),
                    "viewer-sql",
                    f"`{key}` uses {self.describe(viewer)}, which a viewer controls",
                )

    def duckdb_sql(self, path: Path_, expr: str) -> None:
        if _DUCKDB_FILE.search(expr.strip()) and "(" not in expr and " " not in expr.strip():
            self.location(path, expr.strip(), duckdb=True)
            return
        if m := _SQL_SIDE_EFFECT.search(expr):
            self.add(
                path,
                "unsafe-sql",
                f"`{m.group(1).upper()}` changes the server's database, extensions or files rather than "
                "reading a table; lumen-ext serve runs DuckDB without external access, so it fails there",
                "ship the data beside the spec, or have the operator set `duckdb_external_access = true`",
            )
        for literal in _SQL_STRING.findall(expr):
            literal = literal.replace("''", "'")
            if url_scheme(literal) or "/" in literal or _DUCKDB_FILE.search(literal):
                self.location(path, literal, duckdb=True)
