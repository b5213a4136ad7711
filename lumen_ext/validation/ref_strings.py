"""`$` references in any string of the spec (``$source.table.field``, ``$variables.name``) and the ``${...}``
templates of URL tables: each names a declared variable, source and table."""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.diagnostics import Span
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import URL_TEMPLATE, VARIABLE_REF, SpecModel

__all__ = ["OPAQUE_KEYS", "check_source_table", "check_url_templates", "source_field_refs", "walk_refs"]

# Keys whose whole subtree belongs to another system: intake reads the catalog, Lumen never resolves refs in it.
OPAQUE_KEYS = {"catalog"}


# `$data` stands for the pipeline's DataFrame inside these view object specs (lumen/base.py:349).
_DATA_REF_VIEWS = {"panel", "holoviews"}


def walk_refs(ctx: CheckContext, model: SpecModel, node: Any, path: Path, allow_data: bool) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and node["type"] in _DATA_REF_VIEWS:
            allow_data = True
        for key, value in node.items():
            if key in OPAQUE_KEYS:
                continue
            if isinstance(value, str):
                _check_ref_string(ctx, model, value, (*path, key), allow_data)
            else:
                walk_refs(ctx, model, value, (*path, key), allow_data)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, str):
                # Lumen never resolves a `$source` string inside a list, but `$variables.x` is still a typo there.
                _check_variable_names(ctx, model, item, (*path, i))
            else:
                walk_refs(ctx, model, item, (*path, i), allow_data)


def _check_variable_names(ctx: CheckContext, model: SpecModel, value: str, path: Path) -> None:
    if "$variables." not in value:  # most strings: a substring test is cheaper than starting the regex
        return
    for m in VARIABLE_REF.finditer(value):
        name = m.group(1)
        if name not in model.variables:
            ctx.report(
                path,
                "undefined-variable",
                f"`$variables.{name}` refers to a variable that is not declared",
                did_you_mean(name, model.variables, "variables"),
                span=ctx.loaded.substring(path, m.start(1), len(name)),
            )


def _check_ref_string(ctx: CheckContext, model: SpecModel, value: str, path: Path, allow_data: bool) -> None:
    _check_variable_names(ctx, model, value, path)
    if not value.startswith("$") or value.startswith("$variables."):
        return
    if value.startswith("${"):
        ctx.report(
            path,
            "invalid-reference",
            f"`{value}` starts with `$`, so Lumen reads the whole string as a `$source` reference, not a template",
            "put some text before the `${...}` template, e.g. an explicit folder `./`",
        )
        return
    if allow_data and value == "$data":
        return
    parts = value[1:].split(".")
    if len(parts) > 3:
        ctx.report(
            path,
            "invalid-reference",
            f"`{value}` has {len(parts)} levels; Lumen references are `$source`, `$source.table` or "
            "`$source.table.field`",
        )
        return
    source = parts[0]
    if not source.isidentifier() and source not in model.sources:
        ctx.report(
            path,
            "invalid-reference",
            f"`{value}` starts with `$`, so Lumen reads it as a reference to a source named `{source}` and "
            "fails (there is no escape for a literal `$`)",
            "reword the text so it does not start with `$`",
        )
        return
    check_source_table(ctx, model, parts, path, "reference", shown=value)


def check_source_table(
    ctx: CheckContext,
    model: SpecModel,
    parts: list[str],
    path: Path,
    what: str,
    shown: str | None = None,
    span: Span | None = None,
) -> bool:
    """Check ``source[.table]``; True when both exist (so the field, if any, is the data check's job)."""
    shown = shown or ".".join(parts)
    src = model.sources.get(parts[0])
    if src is None:
        ctx.report(
            path,
            "undefined-source",
            f"{what} `{shown}` names source `{parts[0]}`, which is not declared",
            did_you_mean(parts[0], model.sources, "sources"),
            span=span,
        )
        return False
    if len(parts) > 1 and src.tables is not None and parts[1] not in src.tables:
        ctx.report(
            path,
            "undefined-table",
            f"{what} `{shown}`: source `{src.name}` has no table `{parts[1]}`",
            did_you_mean(parts[1], src.tables, f"tables of '{src.name}'"),
            span=span,
        )
        return False
    return True


def check_url_templates(ctx: CheckContext, model: SpecModel) -> None:
    for src in model.sources.values():
        if src.type not in ("file", "json") or not src.tables:
            continue
        for table in src.tables.values():
            if not isinstance(table.value, str):
                continue
            for m in URL_TEMPLATE.finditer(table.value):
                parts = m.group(1).split(".")
                span = ctx.loaded.substring(table.path, m.start(1), len(m.group(1)))
                if parts[0] == "variables":
                    name = parts[1] if len(parts) > 1 else ""
                    if name not in model.variables:
                        ctx.report(
                            table.path,
                            "undefined-variable",
                            f"template `${{{m.group(1)}}}` refers to a variable that is not declared",
                            did_you_mean(name, model.variables, "variables"),
                            span=span,
                        )
                elif len(parts) != 3:
                    ctx.report(
                        table.path,
                        "invalid-reference",
                        f"template `${{{m.group(1)}}}` must be `${{variables.name}}` or `${{source.table.field}}`",
                        span=span,
                    )
                elif parts[0] == src.name:
                    ctx.report(
                        table.path,
                        "invalid-reference",
                        f"template `${{{m.group(1)}}}` refers to its own source `{src.name}`",
                        span=span,
                    )
                else:
                    shown = f"${{{m.group(1)}}}"
                    check_source_table(ctx, model, parts, table.path, "template", shown, span)


def source_field_refs(ctx: CheckContext, model: SpecModel):
    """Every ``$source.table.field`` reference and ``${source.table.field}`` template, for the data checks:
    yields ``(source, table, field, path, span)``, span None meaning the whole value."""
    data = ctx.data
    if not isinstance(data, dict):
        return

    def walk(node: Any, path: Path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in OPAQUE_KEYS:
                    continue
                if (
                    isinstance(value, str)
                    and value.startswith("$")
                    and not value.startswith(("$variables.", "${"))
                ):
                    parts = value[1:].split(".")
                    if len(parts) == 3:
                        yield (*parts, (*path, key), None)
                elif isinstance(value, dict | list):  # a scalar holds no reference to walk into
                    yield from walk(value, (*path, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, dict | list):
                    yield from walk(item, (*path, i))

    for section in ("variables", "sources", "pipelines", model.layouts_key):
        if section in data:
            yield from walk(data[section], (section,))
    for src in model.sources.values():
        if src.type in ("file", "json"):
            for table in (src.tables or {}).values():
                for m in URL_TEMPLATE.finditer(table.value if isinstance(table.value, str) else ""):
                    parts = m.group(1).split(".")
                    if len(parts) == 3 and parts[0] != "variables":
                        yield (
                            *parts,
                            table.path,
                            ctx.loaded.substring(table.path, m.start(1), len(m.group(1))),
                        )
