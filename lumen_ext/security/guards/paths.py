"""S5 S6 S13 S14: what a spec's sources may read and delete. File and JSON paths (after template expansion) inside the
project root or ``allowed_dirs``, URLs only with ``allowed_url_schemes``; DuckDB connections sandboxed to the roots
with external access off; a ``cache_dir`` only as a subfolder of the roots."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumen_ext.security.paths import is_inside, resolve_under, url_scheme
from lumen_ext.security.policy import Policy
from lumen_ext.security.runtime import PolicyViolation, policy_of

log = logging.getLogger("lumen_ext.security")

__all__ = [
    "fenced_clear_cache",
    "guarded_read_expr",
    "guarded_source_init",
    "guarded_template_vars",
    "sandboxed_duckdb",
]


def _check_location(policy: Policy, value: Any, base: Path, what: str) -> None:
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    scheme = None if isinstance(value, os.PathLike) else url_scheme(text)
    if scheme == "file":
        raise PolicyViolation(f"{what}: file:// URLs are refused; give a path inside the project")
    if scheme is not None:
        if scheme not in policy.allowed_url_schemes:
            raise PolicyViolation(f"{what}: {scheme}:// URLs are not in the policy's allowed_url_schemes")
        return
    resolved = resolve_under(text, base)
    roots = policy.roots(base)
    if not is_inside(resolved, roots):
        raise PolicyViolation(
            f"{what}: {text!r} resolves to {resolved}, outside the project ({', '.join(map(str, roots))}); "
            "the operator can allow its directory with allowed_dirs"
        )


def _source_base(source: Any) -> Path:
    return Path(source.root or os.getcwd())


def _cache_dir_problem(policy: Policy, source: Any) -> str | None:
    base = _source_base(source)
    path = resolve_under(source.cache_dir, base)
    roots = policy.roots(base)
    if not is_inside(path, roots, strictly=True) or any(root.is_relative_to(path) for root in roots):
        return (
            f"cache_dir {source.cache_dir!r} of source {source.name!r} resolves to {path}; Lumen deletes it on "
            "reload, so it must be a subfolder of the project (e.g. `cache_dir: cache`)"
        )
    return None


def guarded_template_vars(original: Callable, settings: Any) -> Callable:
    """``_resolve_template_vars`` of file and JSON sources: paths (after expansion) inside the project roots."""
    policy = policy_of(settings)

    def _resolve_template_vars(self: Any, table: Any) -> list:
        paths = original(self, table)
        for path in paths:
            _check_location(policy, path, _source_base(self), f"source {self.name!r}")
        return paths

    return _resolve_template_vars


def guarded_source_init(original: Callable, settings: Any) -> Callable:
    """``Source.__init__``: a ``cache_dir`` must be a subfolder of the roots (a reload deletes it)."""
    policy = policy_of(settings)

    def __init__(self: Any, **params: Any) -> None:
        original(self, **params)
        if self.cache_dir and (problem := _cache_dir_problem(policy, self)):
            raise PolicyViolation(problem)

    return __init__


def fenced_clear_cache(original: Callable, settings: Any) -> Callable:
    """``Source.clear_cache``: Lumen's own body (sources/base.py:643-653), with the rmtree fenced in."""
    policy = policy_of(settings)

    def clear_cache(self: Any, *events: Any) -> None:
        self._cache = {}
        self._schema_cache = {}
        self._metadata_cache = {}
        if not self.cache_dir:
            return
        if problem := _cache_dir_problem(policy, self):
            log.error("refusing to delete a cache folder: %s", problem)
            return
        path = resolve_under(self.cache_dir, _source_base(self))
        if path.is_dir():
            shutil.rmtree(path)

    return clear_cache


def guarded_read_expr(original: Callable, settings: Any) -> Callable:
    """``DuckDBSource._create_file_read_expr``: the files a DuckDB table reads inside the roots."""
    policy = policy_of(settings)

    def _create_file_read_expr(self: Any, file_path: str) -> str:
        # DuckDB (and detect_file_encoding) resolve relative paths against the working directory.
        _check_location(policy, file_path, Path.cwd(), f"DuckDB source {self.name!r}")
        return original(self, file_path)

    return _create_file_read_expr


def sandboxed_duckdb(original: Any, settings: Any) -> Any:
    """``duckdb`` as lumen.sources.duckdb sees it: ``connect`` returns a file-system-sandboxed database."""
    lconfig = importlib.import_module("lumen.config")  # the module: lumen exports a `config` object
    return _SandboxedDuckDB(original, policy_of(settings), lambda: Path(lconfig.config.root or os.getcwd()))


def _external_access(connection: Any) -> bool:
    return bool(connection.execute("SELECT current_setting('enable_external_access')").fetchone()[0])


class _SandboxedDuckDB:
    """The ``duckdb`` module as lumen.sources.duckdb sees it: ``connect`` returns a file-system-sandboxed database.

    ``enable_external_access = false`` cannot be switched back on while the database runs, and with it off
    ``allowed_directories`` cannot be changed either, so initializers and table SQL written by the spec stay
    inside the roots (no ``INSTALL``, ``ATTACH`` or ``read_csv('/etc/...')``, no network).
    """

    def __init__(self, module: Any, policy: Policy, base: Callable[[], Path]):
        self._module = module
        self._policy = policy
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def connect(self, database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        base = self._base()
        if database and str(database) != ":memory:" and not str(database).startswith((":memory:", "md:")):
            _check_location(self._policy, database, Path.cwd(), "DuckDB database")
        connection = self._module.connect(database, *args, **kwargs)
        # A database file already open in this process is the same DuckDB instance, sandboxed by the first
        # connection: its settings can no longer change (DuckDB refuses, failing every later session).
        if not self._policy.duckdb_external_access and _external_access(connection):
            dirs = ", ".join(
                "'" + (str(root) + os.sep).replace("'", "''") + "'" for root in self._policy.roots(base)
            )
            connection.execute(f"SET allowed_directories = [{dirs}]")
            connection.execute("SET enable_external_access = false")
        return connection
