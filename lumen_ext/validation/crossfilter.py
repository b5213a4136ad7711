"""Checks of ``selection_group`` crossfilters: each brush names one tool, and every linked view can be filtered by it.

Under lumen-ext a view whose hvPlot ``tools`` include ``xbox_select``, ``box_select`` or ``tap`` brushes its
``x`` (and ``y``) column, and that brush becomes a filter in the pipeline of every other view of its group
(:mod:`lumen_ext.views.crossfilter`). A view whose pipeline reads a table without that column cannot be filtered
by it: Lumen's SQL would fail on the unknown column (a pandas filter would silently do nothing), so the view
would never follow the brush. That is ``crossfilter-field``, reported at the view's ``selection_group``.
``crossfilter-brush`` is a brush lumen-ext cannot read: two brush tools on one view, or no column on the axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.dataflow import DataFlow
from lumen_ext.validation.datasources import Columns
from lumen_ext.validation.model import LayoutDecl, SpecModel, ViewDecl, component_type

__all__ = ["CrossfilterChecks"]

# hvPlot's tool names that make a view a brush, and the columns each constrains (as lumen_ext.views.crossfilter;
# not imported from there: `lumen-ext validate` must not import Lumen's runtime).
BRUSH_AXES = {"xbox_select": ("x",), "box_select": ("x", "y"), "tap": ("x",)}


@dataclass(slots=True)
class _Member:
    view: ViewDecl
    label: str  # how the messages name the view
    pipeline: (
        object  # the pipeline's name or inline spec (views sharing one are never filtered by each other)
    )
    input: tuple[Columns | None, str]  # the columns a filter of its pipeline sees, and what they are
    brushes: tuple[str, ...] = ()  # the columns its brush constrains


class CrossfilterChecks:
    def __init__(self, ctx: CheckContext, model: SpecModel, flow: DataFlow):
        self.ctx, self.model, self.flow = ctx, model, flow

    def run(self) -> None:
        groups: dict[str, list[_Member]] = {}
        for layout in self.model.layouts:
            for view in layout.views:
                ok, group = self.model.resolve(view.spec.get("selection_group"))
                if ok and isinstance(group, str) and group:
                    groups.setdefault(group, []).append(self._member(layout, view))
        for name, members in groups.items():
            for brush in members:
                for target in members:
                    if brush is not target and brush.brushes and target.pipeline != brush.pipeline:
                        self._check_target(name, brush, target)

    def _member(self, layout: LayoutDecl, view: ViewDecl) -> _Member:
        label = f"`{view.name}`" if view.name else f"#{view.path[-1]} of layout `{layout.spec.get('title')}`"
        pipeline = view.spec.get("pipeline") or layout.spec.get("pipeline")
        member = _Member(view, label, pipeline, self._input(pipeline))
        if component_type(view.spec) == "hvplot":
            member.brushes = self._brushes(member)
        return member

    def _input(self, pipeline: object) -> tuple[Columns | None, str]:
        """What the pipeline's filters see: its source table's columns, or a chained pipeline's parent's output."""
        spec = self.model.pipelines.get(pipeline) if isinstance(pipeline, str) else pipeline
        if not isinstance(spec, dict):
            return None, ""
        source, parent = spec.get("source"), spec.get("pipeline")
        if isinstance(source, str):
            ok, table = self.model.resolve(spec.get("table"))
            if ok and (table is None or isinstance(table, str)):
                where = f"table `{table}` of source `{source}`" if table else f"source `{source}`"
                return self.flow.reader.columns(source, table), where
        elif isinstance(parent, str):
            return self.flow.pipeline_output(parent), f"the output of pipeline `{parent}`"
        return None, ""

    def _brushes(self, member: _Member) -> tuple[str, ...]:
        spec, path = member.view.spec, member.view.path
        ok, tools = self.model.resolve(spec.get("tools"))
        if not ok:
            return ()
        tools = [tools] if isinstance(tools, str) else tools if isinstance(tools, list) else []
        named = [t for t in tools if isinstance(t, str) and t in BRUSH_AXES]
        if len(named) > 1:
            self.ctx.report(
                (*path, "tools"),
                "crossfilter-brush",
                f"view {member.label} names {len(named)} brush tools ({', '.join(named)}); a crossfilter view "
                "brushes with one",
                "keep one of xbox_select (an interval on x), box_select (x and y) or tap (categories)",
            )
            return ()
        if not named:
            return ()
        fields = []
        for axis in BRUSH_AXES[named[0]]:
            ok, column = self.model.resolve(spec.get(axis))
            if not ok:
                return ()
            if not isinstance(column, str):
                self.ctx.report(
                    (*path, "tools"),
                    "crossfilter-brush",
                    f"view {member.label} brushes with `{named[0]}` but names no `{axis}` column to filter on",
                    f"set `{axis}:` to the column the brush selects",
                )
                return ()
            fields.append(column)
        return tuple(fields)

    def _check_target(self, group: str, brush: _Member, target: _Member) -> None:
        cols, where = target.input
        if cols is None:
            return
        for column in brush.brushes:
            if cols.missing(column):
                note = f" (its columns as locked in `{cols.locked_in}`)" if cols.locked_in else ""
                self.ctx.report(
                    (*target.view.path, "selection_group"),
                    "crossfilter-field",
                    f"view {target.label} is in selection group `{group}`, whose view {brush.label} brushes column "
                    f"`{column}`, but {where} has no column `{column}`{note}: the view could not follow that brush",
                    did_you_mean(column, cols.names, "columns", list_all=False)
                    or f"give the view a pipeline whose table has `{column}`, or leave the group",
                )
