"""Run every check on a spec file and collect the diagnostics: the library entry point of the validator."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from lumen_ext.checks.files import checks_path, is_checks_file, spec_for
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
    from lumen_ext.validation.checks_file import CheckedChecks, SpecFacts

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
    text: str,
    file: str,
    spec_dir: FsPath | None,
    data: bool,
    policy: Policy | None,
    with_facts: Callable[[SpecFacts], None] | None = None,
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
                    _dataflow(ctx, model, data, lock, with_facts)
            elif with_facts is not None:
                from lumen_ext.validation.checks_file import SpecFacts

                with_facts(SpecFacts(model))
    ctx.diagnostics.sort(key=lambda d: d.sort_key())
    report.diagnostics = ctx.diagnostics
    return report


def _dataflow(
    ctx: CheckContext,
    model: SpecModel,
    data: bool,
    lock: SpecLock | None,
    with_facts: Callable[[SpecFacts], None] | None = None,
) -> None:
    reader = SourceReader(ctx, model, data=data, lock=lock)
    try:
        flow = DataFlow(ctx, model, reader)
        flow.run()
        CrossfilterChecks(ctx, model, flow).run()
        if lock is not None:
            from lumen_ext.validation.lock.drift import check_lock

            check_lock(ctx, model, reader, lock, flow.unknown_uses)
        # While the reader is open: a checks file may name a table no pipeline reads.
        if with_facts is not None:
            from lumen_ext.validation.checks_file import SpecFacts

            with_facts(SpecFacts(model, flow.pipeline_output, reader.columns))
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


def _validate_one(
    path: FsPath,
    data: bool,
    policy: Policy | None = None,
    with_facts: Callable[[SpecFacts], None] | None = None,
) -> FileReport:
    text = _read(path)
    with collector.paused():  # linear time on large files: see collector.py
        return _validate_text(text, display_path(path), path.resolve().parent, data, policy, with_facts)


def _read(path: FsPath) -> str:
    try:
        # Lumen reads specs as text with the platform encoding; UTF-8 (with or without BOM) is what YAML means.
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{path}: {exc.strerror if isinstance(exc, OSError) else exc}") from exc


@dataclass(slots=True)
class SpecAndChecks:
    """A spec's report, and its checks file's (None when the spec has no ``NAME.checks`` beside it)."""

    spec: FileReport
    checks: CheckedChecks | None


def validate_with_checks(
    path: str | os.PathLike, data: bool = True, policy: Policy | None = None
) -> SpecAndChecks:
    """Validate a spec and the checks file beside it (`lumen_ext.checks`), which is checked against the spec's
    names and, with ``data``, the columns the validator reads. Raises `UnreadableInput` like `validate_file`."""
    path = FsPath(path)
    checks_file = checks_path(path)
    if not checks_file.is_file():
        return SpecAndChecks(_validate_one(path, data, policy), None)
    # Only now: the checks file's models are pydantic's, which a spec alone never pays for.
    from lumen_ext.validation.checks_file import check_checks_text

    checks_text = _read(checks_file)
    checked: list[CheckedChecks] = []

    def with_facts(facts: SpecFacts | None) -> None:
        shown = display_path(checks_file)
        checked.append(check_checks_text(checks_text, shown, checks_file.resolve().parent, facts))

    spec_report = _validate_one(path, data, policy, with_facts)
    if not checked:  # the spec could not be indexed: the checks file's own syntax is still checked
        with_facts(None)
    return SpecAndChecks(spec_report, checked[0])


def display_path(path: FsPath) -> str:
    """Paths relative to the CWD when below it (what editors and CI annotations expect), else absolute."""
    try:
        return str(path.resolve().relative_to(FsPath.cwd()))
    except ValueError:
        return str(path.resolve()) if not path.is_absolute() else str(path)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[FsPath]:
    """Files as given, directories searched recursively for ``*.yaml``/``*.yml`` (sorted, hidden dirs skipped),
    and for checks files with no spec beside them (a checks file with a spec is checked with its spec)."""
    found: list[FsPath] = []
    for raw in paths:
        path = FsPath(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    file = FsPath(root) / name
                    if name.endswith(SPEC_SUFFIXES) or (is_checks_file(file) and spec_for(file) is None):
                        found.append(file)
        elif path.exists():
            found.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return found


def validate_paths(
    paths: Iterable[str | os.PathLike], data: bool = True, policy: Policy | None = None
) -> Report:
    """Every spec under ``paths`` with its checks file; a checks file named on its own is checked against its
    spec (whose own report is left out unless the spec is named too)."""
    report = Report()
    expanded = expand_paths(paths)
    specs = {p.resolve() for p in expanded if not is_checks_file(p)}
    for path in expanded:
        if not is_checks_file(path):
            both = validate_with_checks(path, data, policy)
            report.files.extend(f for f in (both.spec, both.checks and both.checks.report) if f is not None)
            continue
        spec = spec_for(path)
        if spec is None:
            from lumen_ext.validation.checks_file import orphan_report

            report.files.append(orphan_report(_read(path), display_path(path), _spec_names(path)))
        elif spec.resolve() not in specs:
            checked = validate_with_checks(spec, data, policy).checks
            if checked is not None:
                report.files.append(checked.report)
    return report


def _spec_names(checks: FsPath) -> tuple[str, str]:
    return checks.with_suffix(".yaml").name, checks.with_suffix(".yml").name
