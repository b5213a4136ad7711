"""Cross-references Lumen resolves by name: variables, sources, tables, pipelines, views and layout grids.

Lumen's own validator checks only some of these, crashes on others (LUMEN-NOTES §3.2: specs 11, 16, 17, 28, 34)
and stops at the first. Here each one is checked independently and all findings are reported.
"""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.diagnostics import Span
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import URL_TEMPLATE, VARIABLE_REF, SourceDecl, SpecModel

# Keys whose whole subtree belongs to another system: intake reads the catalog, Lumen never resolves refs in it.
_OPAQUE_KEYS = {"catalog"}
# `$data` stands for the pipeline's DataFrame inside these view object specs (lumen/base.py:349).
_DATA_REF_VIEWS = {"panel", "holoviews"}


def check_references(ctx: CheckContext, model: SpecModel) -> None:
    data = ctx.data
    if not isinstance(data, dict):
        return
    for section in ("variables", "sources", "pipelines", model.layouts_key):
        if section in data:
            _walk_refs(ctx, model, data[section], (section,), allow_data=False)
    _check_url_templates(ctx, model)
    _check_source_links(ctx, model)
    _check_pipelines(ctx, model)
    _check_layouts(ctx, model)
    _check_param_filters(ctx, model, data)


# -- `$` references anywhere -------------------------------------------------------------------------------


def _walk_refs(ctx: CheckContext, model: SpecModel, node: Any, path: Path, allow_data: bool) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and node["type"] in _DATA_REF_VIEWS:
            allow_data = True
        for key, value in node.items():
            if key in _OPAQUE_KEYS:
                continue
            if isinstance(value, str):
                _check_ref_string(ctx, model, value, (*path, key), allow_data)
            else:
                _walk_refs(ctx, model, value, (*path, key), allow_data)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, str):
                # Lumen never resolves a `$source` string inside a list, but `$variables.x` is still a typo there.
                _check_variable_names(ctx, model, item, (*path, i))
            else:
                _walk_refs(ctx, model, item, (*path, i), allow_data)


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
    _check_source_table(ctx, model, parts, path, "reference", shown=value)


def _check_source_table(
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


def _check_url_templates(ctx: CheckContext, model: SpecModel) -> None:
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
                    _check_source_table(ctx, model, parts, table.path, "template", shown, span)


def source_field_refs(ctx: CheckContext, model: SpecModel):
    """Every ``$source.table.field`` reference and ``${source.table.field}`` template, for the data checks:
    yields ``(source, table, field, path, span)``, span None meaning the whole value."""
    data = ctx.data
    if not isinstance(data, dict):
        return

    def walk(node: Any, path: Path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _OPAQUE_KEYS:
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


# -- names of sources and pipelines ------------------------------------------------------------------------


def _check_source_name(
    ctx: CheckContext, model: SpecModel, value: Any, path: Path, who: str
) -> SourceDecl | None:
    if not isinstance(value, str):
        return None
    src = model.sources.get(value)
    if src is None:
        ctx.report(
            path,
            "undefined-source",
            f"{who} uses source `{value}`, which is not declared"
            + ("" if model.sources else " (the spec has no `sources:` section)"),
            did_you_mean(value, model.sources, "sources"),
        )
    return src


def _check_pipeline_name(
    ctx: CheckContext,
    model: SpecModel,
    value: Any,
    path: Path,
    who: str,
    declared_before: list[str] | None = None,
) -> bool:
    if not isinstance(value, str):
        return False
    if value not in model.pipelines:
        ctx.report(
            path,
            "undefined-pipeline",
            f"{who} uses pipeline `{value}`, which is not declared"
            + ("" if model.pipelines else " (the spec has no `pipelines:` section)"),
            did_you_mean(value, model.pipelines, "pipelines"),
        )
        return False
    if declared_before is not None and value not in declared_before:
        ctx.report(
            path,
            "undefined-pipeline",
            f"{who} chains pipeline `{value}`, which is declared after it; Lumen builds pipelines in order",
            f"move `{value}` above it in `pipelines:`",
        )
        return False
    return True


def _check_source_links(ctx: CheckContext, model: SpecModel) -> None:
    """Sources that point at other sources: `join` and `derived`."""
    for src in model.sources.values():
        if src.type == "join":
            names = src.spec.get("sources")
            if isinstance(names, list):
                for i, name in enumerate(names):
                    _check_source_name(
                        ctx, model, name, (*src.path, "sources", i), f"join source `{src.name}`"
                    )
        if src.type in ("join", "derived") and src.tables:
            for table in src.tables.values():
                entries = table.value if isinstance(table.value, list) else [table.value]
                for i, entry in enumerate(entries):
                    if not isinstance(entry, dict):
                        continue
                    epath = (*table.path, i) if isinstance(table.value, list) else table.path
                    name, tname = entry.get("source"), entry.get("table")
                    linked = _check_source_name(ctx, model, name, (*epath, "source"), f"source `{src.name}`")
                    if linked and isinstance(tname, str):
                        _check_source_table(ctx, model, [linked.name, tname], (*epath, "table"), "table")
        if src.type == "derived" and "source" in src.spec:
            _check_source_name(
                ctx, model, src.spec["source"], (*src.path, "source"), f"derived source `{src.name}`"
            )


def check_pipeline_spec(
    ctx: CheckContext, model: SpecModel, spec: dict, path: Path, who: str, declared_before: list[str] | None
) -> None:
    has_source, has_pipeline = "source" in spec, "pipeline" in spec
    if has_source and has_pipeline:
        ctx.report(
            (*path, "pipeline"),
            "source-and-pipeline",
            f"{who} declares both `source` and `pipeline`; Lumen uses the source and ignores `pipeline`",
            "keep one of them",
            target="key",
            severity="warning",
        )
    # Neither key: the schema check reports it (missing-key), since Lumen's own check has a typo there.
    src: SourceDecl | None = None
    if has_source:
        if isinstance(spec["source"], dict):
            return  # inline sources are checked by the schema check only
        src = _check_source_name(ctx, model, spec["source"], (*path, "source"), who)
    elif has_pipeline:
        if isinstance(spec["pipeline"], dict):
            check_pipeline_spec(ctx, model, spec["pipeline"], (*path, "pipeline"), "inline pipeline", None)
        else:
            _check_pipeline_name(ctx, model, spec["pipeline"], (*path, "pipeline"), who, declared_before)
        return  # a chained pipeline always uses its parent's table
    if src is None:
        return
    check_table_choice(ctx, src, spec.get("table"), (*path, "table"), path, who)


def check_table_choice(
    ctx: CheckContext, src: SourceDecl, table: Any, table_path: Path, owner_path: Path, who: str
) -> None:
    if src.tables is None:
        return
    if table is None:
        if len(src.tables) > 1:
            ctx.report(
                owner_path,
                "ambiguous-table",
                f"{who} does not say which table of source `{src.name}` to use, and it has {len(src.tables)}",
                "add `table:` with one of " + ", ".join(f"'{t}'" for t in list(src.tables)[:8]),
                target="mapping",
            )
        return
    if isinstance(table, str) and not table.startswith("$") and table not in src.tables:
        ctx.report(
            table_path,
            "undefined-table",
            f"source `{src.name}` has no table `{table}`",
            did_you_mean(table, src.tables, f"tables of '{src.name}'"),
        )


def _check_pipelines(ctx: CheckContext, model: SpecModel) -> None:
    for i, name in enumerate(model.pipeline_order):
        spec = model.pipelines[name]
        check_pipeline_spec(
            ctx, model, spec, ("pipelines", name), f"pipeline `{name}`", model.pipeline_order[:i]
        )


# -- layouts, views and grids ------------------------------------------------------------------------------


def _check_layouts(ctx: CheckContext, model: SpecModel) -> None:
    for layout in model.layouts:
        spec, path = layout.spec, layout.path
        title = spec.get("title")
        who = f"layout `{title}`" if isinstance(title, str) else f"layout #{layout.index + 1}"
        source, pipeline = spec.get("source"), spec.get("pipeline")
        if "source" in spec and "pipeline" in spec:
            ctx.report(
                (*path, "pipeline"),
                "source-and-pipeline",
                f"{who} declares both `source` and `pipeline`; Lumen refuses it "
                "('Layout should either have a source or a pipeline')",
                "keep `pipeline` (it already knows its source), or move the pipeline to the views",
                target="key",
            )
        src = (
            _check_source_name(ctx, model, source, (*path, "source"), who)
            if isinstance(source, str)
            else None
        )
        if isinstance(pipeline, str):
            _check_pipeline_name(ctx, model, pipeline, (*path, "pipeline"), who)
        elif isinstance(pipeline, dict):
            check_pipeline_spec(ctx, model, pipeline, (*path, "pipeline"), f"{who}'s pipeline", None)
        for view in layout.views:
            vwho = f"view `{view.name}`" if view.name else f"view #{view.path[-1] + 1} of {who}"
            vpipe = view.spec.get("pipeline")
            if isinstance(vpipe, str):
                _check_pipeline_name(ctx, model, vpipe, (*view.path, "pipeline"), vwho)
            elif isinstance(vpipe, dict):
                check_pipeline_spec(ctx, model, vpipe, (*view.path, "pipeline"), f"{vwho}'s pipeline", None)
            elif "source" not in spec and "pipeline" not in spec:
                ctx.report(
                    view.path,
                    "missing-source",
                    f"{vwho} has no pipeline, and {who} declares neither `source` nor `pipeline`",
                    "add `pipeline: <name>` to the view, or `source:`/`pipeline:` to the layout",
                    target="mapping",
                )
            elif src is not None and "pipeline" not in view.spec:
                check_table_choice(ctx, src, view.spec.get("table"), (*view.path, "table"), view.path, vwho)
        grid = spec.get("layout")
        if isinstance(grid, list):
            _check_grid(ctx, layout, grid, (*path, "layout"), who)


def _check_grid(ctx: CheckContext, layout, grid: list, path: Path, who: str) -> None:
    # lumen/layout.py resolve_layout_spec: ints index a list of views, strings name views.
    count = len(layout.spec["views"]) if isinstance(layout.spec.get("views"), list | dict) else 0
    names = [v.name for v in layout.views if v.name]
    for i, item in enumerate(grid):
        ipath = (*path, i)
        if isinstance(item, list):
            _check_grid(ctx, layout, item, ipath, who)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            # Card.from_spec turns a views mapping into a list in declaration order, so indices work for both.
            if not 0 <= item < count:
                ctx.report(
                    ipath,
                    "layout-index",
                    f"{who} places view index {item}, but it has {count} view{'s' if count != 1 else ''}"
                    + (f" (indices 0 to {count - 1})" if count else ""),
                )
        elif isinstance(item, str) and item not in names:
            ctx.report(
                ipath,
                "undefined-view",
                f"{who} places view `{item}`, which it does not declare",
                did_you_mean(item, names, "views"),
            )


def _check_param_filters(ctx: CheckContext, model: SpecModel, data: dict) -> None:
    """`type: param` filters name `<view>.<parameter>` (lumen/filters/base.py ParamFilter)."""
    views = model.view_names()
    for path, spec in filter_specs(data):
        if spec.get("type") != "param" or not isinstance(spec.get("parameter"), str):
            continue
        view = spec["parameter"].split(".", 1)[0]
        if "." in spec["parameter"] and view not in views:
            ctx.report(
                (*path, "parameter"),
                "undefined-view",
                f"param filter refers to view `{view}`, which no layout declares",
                did_you_mean(view, views, "views"),
            )


def filter_specs(node: Any, path: Path = ()):
    """``(path, spec)`` of every filter spec (a mapping under a ``filters`` key), in document order.

    With an explicit stack, descending into containers only: a recursive generator per value cost a call for
    every scalar of the spec, and a step per enclosing level for every result (as security.py `_dicts` did)."""
    stack: list[tuple[bool, Path, Any]] = [(False, path, node)]
    while stack:
        is_result, path, node = stack.pop()
        if is_result:
            yield path, node
            continue
        todo: list[tuple[bool, Path, Any]] = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "filters" and isinstance(value, list | dict):
                    items = value.items() if isinstance(value, dict) else enumerate(value)
                    todo.extend((True, (*path, key, k), spec) for k, spec in items if isinstance(spec, dict))
                if key not in _OPAQUE_KEYS and isinstance(value, dict | list):
                    todo.append((False, (*path, key), value))
        elif isinstance(node, list):
            todo = [(False, (*path, i), item) for i, item in enumerate(node) if isinstance(item, dict | list)]
        stack.extend(reversed(todo))
