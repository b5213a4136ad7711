"""What layouts name: their source, pipelines and views, the views a grid places, and the fields of ``param``
filters."""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import SpecModel
from lumen_ext.validation.ref_strings import OPAQUE_KEYS
from lumen_ext.validation.source_pipeline_refs import (
    check_pipeline_name,
    check_pipeline_spec,
    check_source_name,
    check_table_choice,
)

__all__ = ["check_layouts", "check_param_filters", "filter_specs"]


def check_layouts(ctx: CheckContext, model: SpecModel) -> None:
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
            check_source_name(ctx, model, source, (*path, "source"), who) if isinstance(source, str) else None
        )
        if isinstance(pipeline, str):
            check_pipeline_name(ctx, model, pipeline, (*path, "pipeline"), who)
        elif isinstance(pipeline, dict):
            check_pipeline_spec(ctx, model, pipeline, (*path, "pipeline"), f"{who}'s pipeline", None)
        for view in layout.views:
            vwho = f"view `{view.name}`" if view.name else f"view #{view.path[-1] + 1} of {who}"
            vpipe = view.spec.get("pipeline")
            if isinstance(vpipe, str):
                check_pipeline_name(ctx, model, vpipe, (*view.path, "pipeline"), vwho)
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


def check_param_filters(ctx: CheckContext, model: SpecModel, data: dict) -> None:
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
                if key not in OPAQUE_KEYS and isinstance(value, dict | list):
                    todo.append((False, (*path, key), value))
        elif isinstance(node, list):
            todo = [(False, (*path, i), item) for i, item in enumerate(node) if isinstance(item, dict | list)]
        stack.extend(reversed(todo))
