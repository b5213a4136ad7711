"""Follow each table's columns through filters, transforms and views, and report names that do not exist.

The columns of a source table come from `datasources`. Each transform Lumen ships either keeps the columns, or
changes them in a way its parameters tell (``columns``, ``rename``, ``aggregate``, ``eval``), or does something
we cannot predict (``pivot``, ``melt``, custom types): after those, checking stops for that pipeline, so a
report is never a guess. A `Columns` that is not ``closed`` is a lower bound: names in it exist, others may.

This module walks pipelines, layouts and views; what each transform does to the columns is in
:mod:`~lumen_ext.validation.transform_columns`, the column checks and their reports in
:mod:`~lumen_ext.validation.column_checks`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.datasources import REMOTE, Columns, SourceReader
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import FILE_SOURCES, LayoutDecl, SpecModel, ViewDecl, component_type
from lumen_ext.validation.ref_strings import source_field_refs
from lumen_ext.validation.transform_columns import TransformColumns

# View parameters that name columns (lumen/views/base.py `_field_params`, plus the Tabulator ones).
_VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "hvplot": ("x", "y", "by", "groupby", "z", "hover_cols"),
    "table": ("hidden_columns", "frozen_columns"),
}
_ALTAIR_CHANNELS = ("x", "y")
_ALTAIR_SHORTHAND = re.compile(r"^(?:(?P<fn>\w+)\((?P<inner>[^()]*)\)|(?P<field>[^:()]+))(?::[QONTG])?$")
# hvplot accepts these in place of a column name.
_HVPLOT_SPECIAL = {"index"}


class DataFlow(TransformColumns):
    """Walks pipelines in declaration order, then every layout's views.

    A `Columns` here lists every column that *may* exist; ``closed`` means no other one can. Transforms that can
    only drop columns (an aggregate over "all numeric columns") keep the list and stay closed.
    """

    def __init__(self, ctx: CheckContext, model: SpecModel, reader: SourceReader):
        self.ctx, self.model, self.reader = ctx, model, reader
        self.unknown_uses: dict[str, Path] = {}
        self._outputs: dict[str, Columns | None] = {}
        self._active: set[str] = set()

    def run(self) -> None:
        for name in self.model.pipeline_order:
            self.pipeline_output(name)
        for layout in self.model.layouts:
            self._layout(layout)
        for source, table, field, path, span in source_field_refs(self.ctx, self.model):
            # Lumen resolves these to the field's distinct values (state.py _resolve_source_ref).
            if source in self.model.sources:
                cols = self.reader.columns(source, table)
                if cols is not None and cols.missing(field):
                    self.report_missing(cols, field, path, f"table `{table}` of source `{source}`", span=span)
        self._unused_local_tables()

    def _unused_local_tables(self) -> None:
        """Every missing local file of a file-source table, not only those a pipeline or view read above. Lumen
        builds a dashboard whose unused tables are missing (it reads a table when something uses it), so those
        are warnings: the next view or `$source.table` reference that uses one fails."""
        if not self.reader.data:
            return
        for src in self.model.sources.values():
            if src.type not in FILE_SOURCES or not src.tables:
                continue
            for table, decl in src.tables.items():
                value = decl.value[0] if isinstance(decl.value, list) and decl.value else decl.value
                if not isinstance(value, str) or REMOTE.match(value):
                    continue
                before = len(self.ctx.diagnostics)
                self.reader.columns(src.name, table)
                for i in range(before, len(self.ctx.diagnostics)):
                    found = self.ctx.diagnostics[i]
                    if found.rule == "missing-data-file":
                        self.ctx.diagnostics[i] = replace(
                            found,
                            severity="warning",
                            message=f"{found.message}; nothing in the spec reads table `{table}` yet",
                        )

    # -- pipelines ----------------------------------------------------------------------------------------

    def pipeline_output(self, name: str) -> Columns | None:
        if name in self._outputs:
            return self._outputs[name]
        if name in self._active or name not in self.model.pipelines:
            return None
        self._active.add(name)
        try:
            out = self._pipeline(self.model.pipelines[name], ("pipelines", name))
        finally:
            self._active.discard(name)
        self._outputs[name] = out
        return out

    def _pipeline(self, spec: dict, path: Path) -> Columns | None:
        cols: Columns | None = None
        source, parent = spec.get("source"), spec.get("pipeline")
        if isinstance(source, str):
            table = spec.get("table")
            ok, table = self.model.resolve(table)
            cols = (
                self.reader.columns(source, table)
                if ok and (table is None or isinstance(table, str))
                else None
            )
            where = f"table `{table}` of source `{source}`" if table else f"source `{source}`"
        elif isinstance(parent, str | dict):
            if isinstance(parent, str):
                cols, where = self.pipeline_output(parent), f"the output of pipeline `{parent}`"
            else:
                cols, where = self._pipeline(parent, (*path, "pipeline")), "the output of the inline pipeline"
            self._chained_filters(spec, path, cols, where)
            return self.apply({**spec, "filters": None}, path, cols, where)
        else:
            return None
        return self.apply(spec, path, cols, where)

    def _root_columns(self, spec: dict, seen: int = 0) -> tuple[Columns | None, str]:
        """The columns of the source table at the start of a chain of pipelines."""
        parent = spec.get("pipeline")
        if isinstance(spec.get("source"), str):
            ok, table = self.model.resolve(spec.get("table"))
            if ok and (table is None or isinstance(table, str)):
                return self.reader.columns(spec["source"], table), f"source `{spec['source']}`"
            return None, ""
        if isinstance(parent, str) and seen < len(self.model.pipelines):
            parent = self.model.pipelines.get(parent)
        if isinstance(parent, dict) and seen < len(self.model.pipelines):
            return self._root_columns(parent, seen + 1)
        return None, ""

    def _chained_filters(self, spec: dict, path: Path, cols: Columns | None, where: str) -> None:
        """A chained pipeline's filters need the column twice: Lumen builds the filter from the root source's
        schema (a `ValueError` if absent there), then applies it to the parent's output, where a missing column
        makes it silently do nothing (`FilterTransform.apply` skips it)."""
        filters = spec.get("filters")
        if not isinstance(filters, list | dict):
            return
        root, root_where = self._root_columns(spec)
        items = filters.items() if isinstance(filters, dict) else enumerate(filters)
        for key, fspec in items:
            if not isinstance(fspec, dict) or fspec.get("type") in ("param", "facet"):
                continue
            fpath = (*path, "filters", key, "field")
            ok, field = self.model.resolve(fspec.get("field"))
            if not ok or not isinstance(field, str):
                continue
            if root is not None and root.missing(field):
                self.check_field(root, field, fpath, root_where)
            elif cols is not None and cols.missing(field):
                self.report_missing(cols, field, fpath, where, note="; this filter would silently do nothing")

    def apply(self, spec: dict, path: Path, cols: Columns | None, where: str) -> Columns | None:
        """Check and apply ``filters``, ``sql_transforms`` and ``transforms`` of a pipeline-like spec, in Lumen's
        order: the SQL runs in the source's query, the Python transforms on its result (pipeline.py
        ``_compute_data``)."""
        self._filters(spec.get("filters"), (*path, "filters"), cols, where)
        sql = spec.get("sql_transforms")
        if isinstance(sql, list):
            for i, tspec in enumerate(sql):
                if cols is None:
                    break
                cols = self.sql_transform_columns(tspec, (*path, "sql_transforms", i), cols, where)
                where = (
                    f"the output of the `{tspec.get('type')}` SQL transform"
                    if isinstance(tspec, dict)
                    else where
                )
        transforms = spec.get("transforms")
        if isinstance(transforms, list):
            for i, tspec in enumerate(transforms):
                if cols is None:
                    break
                cols = self.transform_columns(tspec, (*path, "transforms", i), cols, where)
                where = (
                    f"the output of the `{tspec.get('type')}` transform" if isinstance(tspec, dict) else where
                )
        return cols

    def _filters(self, filters: Any, path: Path, cols: Columns | None, where: str) -> None:
        if cols is None or not isinstance(filters, list | dict):
            return
        items = filters.items() if isinstance(filters, dict) else enumerate(filters)
        for key, fspec in items:
            if isinstance(fspec, dict) and fspec.get("type") not in ("param", "facet"):
                self.check_field(cols, fspec.get("field"), (*path, key, "field"), where)

    # -- layouts and views --------------------------------------------------------------------------------

    def _layout(self, layout: LayoutDecl) -> None:
        spec = layout.spec
        base: Columns | None = None
        base_known = False
        source, pipeline = spec.get("source"), spec.get("pipeline")
        if isinstance(pipeline, str):
            base, base_known = self.pipeline_output(pipeline), True
        elif isinstance(pipeline, dict):
            base, base_known = self._pipeline(pipeline, (*layout.path, "pipeline")), True
        facet = spec.get("facet")
        if isinstance(facet, dict) and isinstance(source, str | type(None)):
            facet_cols = base if base_known else (self.reader.columns(source, None) if source else None)
            self.check_fields(facet_cols, facet.get("by"), (*layout.path, "facet", "by"), "the layout's data")
        for view in layout.views:
            cols, where = self._view_input(layout, view, base, base_known)
            self._view_fields(view, cols, where)

    def _view_input(
        self, layout: LayoutDecl, view: ViewDecl, base: Columns | None, base_known: bool
    ) -> tuple[Columns | None, str]:
        vpipe = view.spec.get("pipeline")
        if isinstance(vpipe, str):
            return self.pipeline_output(vpipe), f"the output of pipeline `{vpipe}`"
        if isinstance(vpipe, dict):
            return self._pipeline(vpipe, (*view.path, "pipeline")), "the output of the view's pipeline"
        if base_known:
            where = "the output of the layout's pipeline"
            return self.apply(view.spec, view.path, base, where), where
        source = layout.spec.get("source")
        if isinstance(source, str):
            ok, table = self.model.resolve(view.spec.get("table"))
            if not ok or not (table is None or isinstance(table, str)):
                return None, ""
            cols = self.reader.columns(source, table)
            where = f"table `{table}` of source `{source}`" if table else f"source `{source}`"
            self._filters(layout.spec.get("filters"), (*layout.path, "filters"), cols, where)
            return self.apply(view.spec, view.path, cols, where), where
        return None, ""

    def _view_fields(self, view: ViewDecl, cols: Columns | None, where: str) -> None:
        if cols is None:
            return
        spec, path = view.spec, view.path
        vtype = component_type(spec)
        self.check_field(cols, spec.get("field"), (*path, "field"), where)
        for key in _VIEW_FIELDS.get(vtype, ()):
            value = spec.get(key)
            if key == "hover_cols" and value in ("all", "auto"):
                continue
            special = _HVPLOT_SPECIAL if vtype == "hvplot" else set()
            self.check_fields(cols, value, (*path, key), where, allowed=special)
        if vtype == "altair":
            for channel in _ALTAIR_CHANNELS:
                self._altair_channel(cols, spec.get(channel), (*path, channel), where)
            encode = spec.get("encode")
            if isinstance(encode, dict):
                for channel, value in encode.items():
                    self._altair_channel(cols, value, (*path, "encode", channel), where)

    def _altair_channel(self, cols: Columns, value: Any, path: Path, where: str) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("field"), str):
                self.check_field(cols, value["field"], (*path, "field"), where)
                return
            value, path = value.get("shorthand"), (*path, "shorthand")
        if not isinstance(value, str):
            return
        m = _ALTAIR_SHORTHAND.match(value.strip())
        if not m:
            return
        name = m.group("inner") if m.group("fn") else m.group("field")
        if name and name != "*" and cols.missing(name):
            self.report_missing(cols, name, path, where, span_offset=(value.index(name), len(name)))
