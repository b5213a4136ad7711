"""Run every check on a spec file and collect the diagnostics: the library entry point of the validator."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from lumen_ext.validation import collector
from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.crossfilter import CrossfilterChecks
from lumen_ext.validation.dataflow import DataFlow
from lumen_ext.validation.datasources import SourceReader
from lumen_ext.validation.dependencies import check_dependencies
from lumen_ext.validation.diagnostics import FILE_START, FileReport, Report
from lumen_ext.validation.guard import contained
from lumen_ext.validation.loader import load_text
from lumen_ext.validation.lock.lockfile import LockError, SpecLock, lock_path, read_lock
from lumen_ext.validation.lumen_bugs import check_lumen_bugs
from lumen_ext.validation.model import SpecModel, build_model
from lumen_ext.validation.references import check_references
from lumen_ext.validation.sql_support import check_sql_support

if TYPE_CHECKING:
    from lumen_ext.security.policy import Policy

SPEC_SUFFIXES = (".yaml", ".yml")


class UnreadableInput(Exception):
    """A path that is not a readable spec file (the CLI exits 2 on it)."""


def validate_text(
    text: str,
    file: str = "<spec>",
    spec_dir: FsPath | None = None,
    data: bool = True,
    policy: Policy | None = None,
) -> FileReport:
    """Check spec ``text``; ``spec_dir`` is where relative data paths resolve (default: the CWD).

    ``policy`` is the operator's security policy (`lumen_ext.security.policy`); the default is the safe one
    `lumen-ext serve` uses without ``--policy``, so validate flags exactly what serve would refuse.

    Never raises on any text: a crash inside a check is reported as an `internal-error` (`guard`).
    """
    with collector.paused():  # linear time on large files: see collector.py
        return _validate_text(text, file, spec_dir, data, policy)


def _validate_text(
    text: str, file: str, spec_dir: FsPath | None, data: bool, policy: Policy | None
) -> FileReport:
    report = FileReport(file, text.removeprefix("\ufeff"))
    with contained(report.diagnostics, report.tracebacks, file, "parsing the YAML"):
        loaded = load_text(text)
    if report.tracebacks:
        return report
    ctx = CheckContext(file, FsPath(spec_dir or os.getcwd()), loaded, data_checks=data)
    for problem in loaded.problems:
        ctx.emit(problem.span, problem.rule, problem.message, problem.hint)
    if loaded.parsed:
        guard = partial(contained, ctx.diagnostics, report.tracebacks, file)
        with guard("checking the schema"):
            _schema(ctx)
        with guard("checking security"):
            _security(ctx, FsPath(file).name, policy)
        with guard("checking dependencies"):
            check_dependencies(ctx)
        model = None
        with guard("indexing the spec"):
            model = build_model(loaded.data)
        if model is not None:
            with guard("resolving references"):
                check_references(ctx, model)
            with guard("checking for Lumen 1.4 bugs"):
                check_lumen_bugs(ctx, model)
            with guard("checking SQL transforms"):
                check_sql_support(ctx, model)
            lock = None
            with guard("reading the lock file"):
                lock = _lock(ctx)
            if data or lock is not None:
                with guard("checking data and columns"):
                    _dataflow(ctx, model, data, lock)
    ctx.diagnostics.sort(key=lambda d: d.sort_key())
    report.diagnostics = ctx.diagnostics
    return report


def _dataflow(ctx: CheckContext, model: SpecModel, data: bool, lock: SpecLock | None) -> None:
    reader = SourceReader(ctx, model, data=data, lock=lock)
    try:
        flow = DataFlow(ctx, model, reader)
        flow.run()
        CrossfilterChecks(ctx, model, flow).run()
        if lock is not None:
            from lumen_ext.validation.lock.drift import check_lock

            check_lock(ctx, model, reader, lock, flow.unknown_uses)
    finally:
        reader.close()


def _lock(ctx: CheckContext) -> SpecLock | None:
    """The lock file beside the spec (`lumen-ext lock`), if there is one; a broken one is `lock-invalid`."""
    if ctx.file == "<spec>":
        return None
    name = lock_path(FsPath(ctx.file))
    path = ctx.spec_dir / name.name
    if not path.is_file():
        return None
    try:
        return read_lock(path, name.as_posix())
    except (LockError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        hint = f"run `lumen-ext lock {ctx.file}` to write it again"
        ctx.emit(FILE_START, "lock-invalid", f"`{name.as_posix()}` cannot be used: {reason}", hint)
        return None


def _schema(ctx: CheckContext) -> None:
    from lumen_ext.spec import check_all
    from lumen_ext.spec.local_components import dotted_modules, read_local_components

    # Types from `views.py`/... beside the spec (and `type: module.Class` paths to a module there) validate
    # whatever the policy says: whether Lumen may execute those files is one `unsafe-import` per module.
    local = read_local_components(ctx.spec_dir, dotted_modules(ctx.loaded.text))
    for issue in check_all(ctx.data, local):
        ctx.report(
            issue.path, issue.rule, issue.message, issue.hint, target=issue.target, severity=issue.severity
        )


def _security(ctx: CheckContext, filename: str, policy: Policy | None) -> None:
    from lumen_ext.validation.secret_security import displayed_secrets
    from lumen_ext.validation.security import unsafe_constructs

    for issue in unsafe_constructs(ctx.data, ctx.spec_dir / filename, policy):
        ctx.report(
            issue.path, issue.rule, issue.message, issue.hint, target=issue.target, severity=issue.severity
        )
    # At the reference inside the value (and Jinja's text positions): `emit`, not `report`.
    for shown in displayed_secrets(ctx.loaded):
        issue = shown.issue
        ctx.emit(shown.span, issue.rule, issue.message, issue.hint, issue.severity)


def validate_file(path: str | os.PathLike, data: bool = True, policy: Policy | None = None) -> Report:
    """Validate one spec file. Raises `UnreadableInput` when it cannot be read as text."""
    report = Report()
    report.files.append(_validate_one(FsPath(path), data, policy))
    return report


def _validate_one(path: FsPath, data: bool, policy: Policy | None = None) -> FileReport:
    try:
        # Lumen reads specs as text with the platform encoding; UTF-8 (with or without BOM) is what YAML means.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{path}: {exc.strerror if isinstance(exc, OSError) else exc}") from exc
    return validate_text(text, _display(path), path.resolve().parent, data, policy)


def _display(path: FsPath) -> str:
    """Paths relative to the CWD when below it (what editors and CI annotations expect), else absolute."""
    try:
        return str(path.resolve().relative_to(FsPath.cwd()))
    except ValueError:
        return str(path.resolve()) if not path.is_absolute() else str(path)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[FsPath]:
    """Files as given, directories searched recursively for ``*.yaml``/``*.yml`` (sorted, hidden dirs skipped)."""
    found: list[FsPath] = []
    for raw in paths:
        path = FsPath(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(FsPath(root) / f for f in sorted(files) if f.endswith(SPEC_SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return found


def validate_paths(
    paths: Iterable[str | os.PathLike], data: bool = True, policy: Policy | None = None
) -> Report:
    report = Report()
    for path in expand_paths(paths):
        report.files.append(_validate_one(path, data, policy))
    return report
