"""How each transform Lumen ships changes a table's columns, as far as its parameters tell: kept, selected,
aggregated, renamed or added by ``eval``; None where the output is not knowable before run time (pivot, melt,
custom types), so the data flow stops there rather than guess."""

from __future__ import annotations

import re
from typing import Any

from lumen_ext.validation.column_checks import ColumnChecks
from lumen_ext.validation.context import did_you_mean
from lumen_ext.validation.datasources import Columns
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import component_type

__all__ = ["TransformColumns"]

# Transforms that leave the set of column names unchanged, and the parameters that name columns.
_KEEPS_COLUMNS: dict[str, tuple[str, ...]] = {
    "sort": ("by",),
    "project_lnglat": ("longitude", "latitude"),
    "iloc": (),
    "sample": (),
    "query": (),
    "count": (),
    "sum": (),
    "compute": (),
    "dropna": ("subset",),
    "as_type": (),
    "history": ("date_column",),
    "set_index": ("keys",),
}
_PROJECT_DEFAULTS = {"longitude": "longitude", "latitude": "latitude"}
_SQL_KEEPS_COLUMNS: dict[str, tuple[str, ...]] = {
    "sql_limit": (),
    "sql_sort": ("by",),
    "sql_sample": (),
    "sql_distinct": (),
    "sql_filter": (),
    "sql_prefilter": (),
}
# DataFrameGroupBy methods that reduce each group (lumen/transforms/base.py Aggregate calls getattr(grouped, method)).
_GROUPBY_METHODS = {
    "all", "any", "count", "first", "last", "max", "mean", "median", "min", "nunique", "prod", "sem", "size",
    "skew", "std", "sum", "var", "idxmax", "idxmin", "quantile", "ohlc", "describe", "nth", "head", "tail",
    "cumsum", "cumprod", "cummax", "cummin", "rank", "diff", "pct_change", "shift", "agg", "aggregate",
}  # fmt: skip
_EVAL_TARGET = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)
_EVAL_TABLE_REF = re.compile(r"\btable\.([A-Za-z_]\w*)")


class TransformColumns(ColumnChecks):
    def transform_columns(self, spec: Any, path: Path, cols: Columns, where: str) -> Columns | None:
        if not isinstance(spec, dict):
            return None
        ttype = component_type(spec)
        if ttype in _KEEPS_COLUMNS:
            for key in _KEEPS_COLUMNS[ttype]:
                value = (
                    spec.get(key, _PROJECT_DEFAULTS.get(key)) if ttype == "project_lnglat" else spec.get(key)
                )
                self.check_fields(cols, value, (*path, key), where)
            if ttype == "as_type" and isinstance(spec.get("dtypes"), dict):
                for name in spec["dtypes"]:
                    self.check_field(cols, name, (*path, "dtypes", name), where, target="key")
            return cols
        if ttype == "columns":
            self.check_fields(cols, spec.get("columns"), (*path, "columns"), where)
            return self._selected(spec.get("columns"), cols)
        if ttype == "aggregate":
            return self._aggregate(spec, path, cols, where)
        if ttype == "rename":
            return self._rename(spec, cols)
        if ttype == "eval":
            return self._eval(spec, path, cols, where)
        return None  # pivot, melt, stack, corr, custom types: the output columns are not knowable here

    def _aggregate(self, spec: dict, path: Path, cols: Columns, where: str) -> Columns | None:
        self.check_fields(cols, spec.get("by"), (*path, "by"), where)
        self.check_fields(cols, spec.get("columns"), (*path, "columns"), where)
        method = spec.get("method", "mean")
        if isinstance(method, str) and not method.startswith("$") and method not in _GROUPBY_METHODS:
            self.ctx.report(
                (*path, "method"),
                "invalid-value",
                f"`{method}` is not a pandas groupby aggregation; Lumen would fail with AttributeError",
                did_you_mean(method, sorted(_GROUPBY_METHODS), "methods"),
            )
        by, selected = self._names(spec.get("by")), self._names(spec.get("columns"))
        if by is None:
            return None
        if spec.get("columns") is None:
            # Every numeric column not in `by`: the dtypes decide which, but none can appear from nowhere.
            return Columns(tuple(by + [c for c in cols.names if c not in by]), cols.closed)
        if selected is None:
            return None
        return Columns(tuple(by + [c for c in selected if c not in by]))

    def sql_transform_columns(self, spec: Any, path: Path, cols: Columns, where: str) -> Columns | None:
        if not isinstance(spec, dict):
            return None
        ttype = component_type(spec)
        if ttype in _SQL_KEEPS_COLUMNS:
            for key in _SQL_KEEPS_COLUMNS[ttype]:
                self.check_fields(cols, spec.get(key), (*path, key), where)
            return cols
        if ttype == "sql_columns":
            self.check_fields(cols, spec.get("columns"), (*path, "columns"), where)
            return self._selected(spec.get("columns"), cols)
        if ttype == "sql_group_by":
            return self._sql_group_by(spec, path, cols, where)
        return None

    def _sql_group_by(self, spec: dict, path: Path, cols: Columns, where: str) -> Columns | None:
        """``SELECT <by>, AGG(col) AS col ... GROUP BY <by>`` (transforms/sql.py SQLGroupBy); without ``by`` the
        query is unchanged. Aggregated names that are not plain identifiers (``*``, expressions) are SQL."""
        self.check_fields(cols, spec.get("by"), (*path, "by"), where)
        aggregates = spec.get("aggregates")
        outputs: list[str] = []
        if isinstance(aggregates, dict):
            for agg, value in aggregates.items():
                apath = (*path, "aggregates", agg)
                items = [(value, apath)] if isinstance(value, str) else []
                if isinstance(value, list):
                    items = [(item, (*apath, i)) for i, item in enumerate(value)]
                for item, ipath in items:
                    if isinstance(item, str) and item.isidentifier():
                        self.check_field(cols, item, ipath, where)
                        outputs.append(item)
        by = self._names(spec.get("by"))
        if not by:
            return cols if spec.get("by") in (None, []) else None
        if not isinstance(aggregates, dict):
            return None
        return Columns(tuple(dict.fromkeys([*by, *outputs])))

    def _selected(self, value: Any, cols: Columns) -> Columns | None:
        names = self._names(value)
        return Columns(tuple(names)) if names is not None else None

    def _names(self, value: Any) -> list[str] | None:
        """Column names a parameter gives, when all of them are known before run time."""
        ok, value = self.model.resolve(value)
        if not ok:
            return None
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            names = []
            for item in value:
                ok, item = self.model.resolve(item)
                if not ok or not isinstance(item, str | int):
                    return None
                names.append(str(item))
            return names
        return None

    def _rename(self, spec: dict, cols: Columns) -> Columns | None:
        mapping = spec.get("columns")
        if mapping is None and spec.get("axis") in (1, "columns"):
            mapping = spec.get("mapper")
        if mapping is None:
            return cols  # renames index labels only
        if not isinstance(mapping, dict) or spec.get("level") is not None:
            return None
        names, closed = list(cols.names), cols.closed
        for old, new in mapping.items():
            ok, new = self.model.resolve(new)
            if str(old) in names:
                names.remove(str(old))
                if ok and isinstance(new, str | int):
                    names.append(str(new))
                else:
                    closed = False
            elif not cols.closed:
                closed = False
        return Columns(tuple(names), closed)

    def _eval(self, spec: dict, path: Path, cols: Columns, where: str) -> Columns | None:
        expr = spec.get("expr")
        if not isinstance(expr, str):
            return None
        for m in _EVAL_TABLE_REF.finditer(expr):
            name = m.group(1)
            if cols.missing(name):
                self.report_missing(cols, name, (*path, "expr"), where, span_offset=(m.start(1), len(name)))
        targets = _EVAL_TARGET.findall(expr)
        if not targets:
            return None
        return Columns(cols.names + tuple(t for t in targets if t not in cols.names), cols.closed)
