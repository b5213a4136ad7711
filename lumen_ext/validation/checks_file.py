"""`lumen-ext validate` of a checks file (``NAME.checks`` beside ``NAME.yaml``, `lumen_ext.checks`).

The file is read with the validator's own loader (the same positions, duplicate keys, unsafe tags), checked
against the pydantic models (`lumen_ext.checks.models`), then against its spec: the pipelines, sources, tables,
layouts and views it names must exist, and the columns it names must exist where the validator knows the
columns (`lumen_ext.validation.dataflow`). Every problem is a diagnostic with file:line:column and a rule id,
as for specs.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from lumen_ext.checks.models import ChecksFile
from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.datasources import Columns
from lumen_ext.validation.diagnostics import FILE_START, FileReport
from lumen_ext.validation.loader import LoadedSpec, Path, load_text
from lumen_ext.validation.model import SpecModel

__all__ = ["CheckedChecks", "SpecFacts", "check_checks_text", "orphan_report"]


@dataclass(slots=True)
class SpecFacts:
    """What a checks file is checked against: the spec's declarations and, when the validator read the data,
    the columns of pipelines and tables (``None`` from either: not known before run time)."""

    model: SpecModel
    pipeline_columns: typing.Callable[[str], Columns | None] = lambda name: None
    table_columns: typing.Callable[[str, str], Columns | None] = lambda source, table: None


@dataclass(slots=True)
class CheckedChecks:
    report: FileReport
    loaded: LoadedSpec
    checks: ChecksFile | None  # None when the file has errors: nothing of it is run


def check_checks_text(text: str, file: str, spec_dir: FsPath, facts: SpecFacts | None) -> CheckedChecks:
    """Check the checks file ``text`` (shown as ``file``) against its spec's ``facts`` (None: no spec to check
    names against, e.g. it could not be parsed)."""
    report = FileReport(file, text.removeprefix("\ufeff"))
    loaded = load_text(text)
    ctx = CheckContext(file, spec_dir, loaded)
    for problem in loaded.problems:
        ctx.emit(problem.span, problem.rule, problem.message, problem.hint)
    checks = None
    if loaded.parsed and not loaded.problems:
        data = {} if loaded.data is None else loaded.data
        checks = _model(ctx, data)
        if facts is not None and isinstance(data, dict):
            _names(ctx, data, facts)
    ctx.diagnostics.sort(key=lambda d: d.sort_key())
    report.diagnostics = ctx.diagnostics
    errors = any(d.severity == "error" for d in report.diagnostics)
    return CheckedChecks(report, loaded, None if errors else checks)


def orphan_report(text: str, file: str, spec_names: tuple[str, str]) -> FileReport:
    """A checks file with no spec beside it: its checks would never run."""
    report = FileReport(file, text.removeprefix("\ufeff"))
    ctx = CheckContext(file, FsPath("."), load_text(""))
    ctx.emit(
        FILE_START,
        "orphan-checks",
        f"no spec `{spec_names[0]}` or `{spec_names[1]}` beside this checks file, so its checks never run",
        "name the checks file after its spec: `NAME.checks` beside `NAME.yaml`",
    )
    report.diagnostics = ctx.diagnostics
    return report


# -- the models -------------------------------------------------------------------------------------------


def _model(ctx: CheckContext, data: Any) -> ChecksFile | None:
    try:
        return ChecksFile.model_validate(data)
    except ValidationError as exc:
        reported: set[Path] = set()
        for error in exc.errors():
            path, complete = _data_path(data, error["loc"])
            if path in reported:
                continue  # one diagnostic per value: a union reports one error per member it tried
            reported.add(path)
            _report_error(ctx, data, error, path, complete)
        return None


def _data_path(data: Any, loc: tuple) -> tuple[Path, bool]:
    """The part of pydantic's ``loc`` that exists in the data (it adds union members' names), and whether all of
    it does."""
    path: list[Any] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return tuple(path), False
        path.append(part)
    return tuple(path), True


def _report_error(ctx: CheckContext, data: Any, error: dict, path: Path, complete: bool) -> None:
    kind = error["type"]
    where = f"`{path[-1]}`" if path else "the file"
    if kind == "extra_forbidden":
        fields = _fields(ChecksFile, path[:-1])
        ctx.report(
            path,
            "unknown-key",
            f"unknown key `{path[-1]}` in {_place(path[:-1])}",
            did_you_mean(path[-1], fields, "keys"),
            target="key",
        )
    elif kind == "missing":
        ctx.report(path, "missing-key", f"{_place(path)} needs `{error['loc'][-1]}`", target="key")
    elif kind == "literal_error":
        expected = typing.get_args(_annotation(ChecksFile, path)) or ()
        ctx.report(
            path,
            "invalid-value",
            f"{where} must be one of {', '.join(map(str, expected))}, not `{_value(data, path)}`",
            did_you_mean(_value(data, path), expected, "kinds", list_all=False),
        )
    elif kind.endswith("_type") or kind.endswith("_parsing") or not complete:
        expected = _describe(_annotation(ChecksFile, path))
        ctx.report(path, "invalid-type", f"{where} must be {expected}, not {_kind_of(_value(data, path))}")
    else:  # value_error, greater_than, ...: pydantic's message says what is wrong with the value
        message = error["msg"].removeprefix("Value error, ")
        ctx.report(path, "invalid-value", f"{where}: {message[:1].lower()}{message[1:]}")


def _place(path: Path) -> str:
    if not path:
        return "the checks file"
    return "`" + ".".join(map(str, path)) + "`"


def _value(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _annotation(model: type[BaseModel], path: Path) -> Any:
    """The type annotation of the value at ``path`` of ``model``'s data."""
    annotation: Any = model
    for part in path:
        annotation = _unoptional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (f for name, f in annotation.model_fields.items() if (f.alias or name) == part), None
            )
            if field is None:
                return None
            annotation = field.annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return None
    return annotation


def _fields(model: type[BaseModel], path: Path) -> list[str]:
    annotation = _unoptional(_annotation(model, path))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _unoptional(annotation: Any) -> Any:
    """``X | None`` -> ``X``; other unions stay."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
}


def _describe(annotation: Any) -> str:
    """What a value of this annotation looks like, in words."""
    annotation = _unoptional(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return "a number of seconds, or a string such as '2.5s' or '800ms'"
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        words = list(dict.fromkeys(_describe(a) for a in typing.get_args(annotation) if a is not type(None)))
        if "a number" in words and "a whole number" in words:
            words.remove("a whole number")
        return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(map(str, typing.get_args(annotation)))
    if typing.get_origin(annotation) is list:
        return "a list"
    if typing.get_origin(annotation) is dict or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    ):
        return "a mapping"
    if annotation in _NAMES:
        return _NAMES[annotation]
    if getattr(annotation, "__name__", "") in ("date", "datetime"):
        return "a date"
    return "a valid value"


# -- names and columns against the spec -------------------------------------------------------------------
# On the raw data, section by section, so that a mistake the models report elsewhere in the file does not hide
# these: every problem is reported at once.


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _names(ctx: CheckContext, data: dict, facts: SpecFacts) -> None:
    model = facts.model
    for name, data_checks in _mapping(data.get("pipelines")).items():
        path = ("pipelines", name)
        if name not in model.pipelines:
            ctx.report(
                path,
                "undefined-pipeline",
                f"the spec declares no pipeline `{name}` under `pipelines:`",
                did_you_mean(name, model.pipelines, "pipelines"),
                target="key",
            )
            continue
        where = f"the output of pipeline `{name}`"
        _columns(ctx, _mapping(data_checks), facts.pipeline_columns(str(name)), path, where)
    for source, tables in _mapping(data.get("tables")).items():
        decl = model.sources.get(source)
        if decl is None:
            ctx.report(
                ("tables", source),
                "undefined-source",
                f"the spec declares no source `{source}`",
                did_you_mean(source, model.sources, "sources"),
                target="key",
            )
            continue
        for table, data_checks in _mapping(tables).items():
            path = ("tables", source, table)
            if decl.tables is not None and table not in decl.tables:
                ctx.report(
                    path,
                    "undefined-table",
                    f"source `{source}` declares no table `{table}`",
                    did_you_mean(table, decl.tables, "tables"),
                    target="key",
                )
                continue
            where = f"table `{table}` of source `{source}`"
            _columns(ctx, _mapping(data_checks), facts.table_columns(str(source), str(table)), path, where)
    _layouts(ctx, _mapping(data.get("layouts")), model)


def _layouts(ctx: CheckContext, budgets: dict, model: SpecModel) -> None:
    titles = {
        layout.spec["title"]: layout for layout in model.layouts if isinstance(layout.spec.get("title"), str)
    }
    for title, budget in budgets.items():
        layout = titles.get(title)
        if layout is None:
            ctx.report(
                ("layouts", title),
                "undefined-layout",
                f"the spec has no layout titled `{title}`",
                did_you_mean(title, titles, "layout titles"),
                target="key",
            )
            continue
        names = [view.name for view in layout.views if view.name]
        for view in _mapping(_mapping(budget).get("views")):
            if view not in names:
                ctx.report(
                    ("layouts", title, "views", view),
                    "undefined-view",
                    f"layout `{title}` has no view named `{view}`",
                    did_you_mean(view, names, "views"),
                    target="key",
                )


def _columns(ctx: CheckContext, checks: dict, cols: Columns | None, path: Path, where: str) -> None:
    if cols is None:
        return
    named: list[tuple[Any, Path, str]] = [
        (c, (*path, "columns", c), "key") for c in _mapping(checks.get("columns"))
    ]
    named += [(c, (*path, "values", c), "key") for c in _mapping(checks.get("values"))]
    unique = checks.get("unique")
    if isinstance(unique, str):
        named.append((unique, (*path, "unique"), "value"))
    elif isinstance(unique, list):
        named += [(c, (*path, "unique", i), "value") for i, c in enumerate(unique) if isinstance(c, str)]
    for column, at, target in named:
        if cols.missing(column):
            ctx.report(
                at,
                "unknown-column",
                f"column `{column}` does not exist in {where}",
                did_you_mean(column, cols.names, "columns"),
                target=target,
            )
