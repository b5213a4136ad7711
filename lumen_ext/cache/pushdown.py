"""Compile the leading transforms of a pipeline into the SQL query of a DuckDB source.

Lumen 1.4 runs every Python transform in pandas on the full filtered table the source returns: filtering
10M rows down to 2M and then grouping them in pandas means shipping 2M rows out of DuckDB first. Here the
transforms SQL can express *exactly* (``aggregate``, ``sort``, ``columns``, ``iloc``) are appended to the
query while they form an unbroken prefix of the chain; from the first one that cannot be expressed, the rest
runs in pandas as before.

"Exactly" means the frame handed on has the same rows, row order, column order and index labels as the
pandas path would produce: pandas' rules are mirrored (``groupby`` drops missing keys and sorts by them,
aggregations skip NaN, ``sum`` of nothing is 0, ``sort_values`` puts NaN and None last in both directions,
``iloc`` keeps the index labels). Two things cannot be mirrored and are documented instead: DuckDB gives an
integer column a nullable dtype only when the fetched rows hold a NULL, so a pushed ``iloc`` or
``aggregate`` can return ``int32`` where pandas keeps ``Int32`` (same values); and rows that tie on every
sort key come back in index order, which pandas' unstable quicksort does not promise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

__all__ = [
    "CubeColumns",
    "PushdownPlan",
    "aggregate_columns",
    "clean_value",
    "compile_pushdown",
    "keys_present",
    "quote",
]

ROWID = "__lumen_ext_row"

_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"}
)
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})

# pandas groupby method -> SQL aggregate over the NaN-cleaned column.
_AGGREGATES: dict[str, str] = {
    "sum": "COALESCE(SUM({v}), 0)",
    "mean": "AVG({v})",
    "min": "MIN({v})",
    "max": "MAX({v})",
    "count": "COUNT({v})",
    "median": "QUANTILE_CONT({v}, 0.5)",
    "std": "STDDEV_SAMP({v})",
    "var": "VAR_SAMP({v})",
}


@dataclass(frozen=True)
class CubeColumns:
    """What a rollup cube (:mod:`lumen_ext.cache.rollup`) holds for the aggregate it was built for.

    A relation carrying one is a cube: one row per group of the aggregate's keys and the filter fields, with
    partial aggregates of each column; the aggregate then combines the partials instead of reading rows.
    """

    method: str
    by: tuple[str, ...]
    columns: tuple[str, ...]  # the aggregated columns, in the aggregate's order
    types: tuple[tuple[str, str], ...]  # their types in the source
    partials: tuple[tuple[str, ...], ...]  # per column: its partial columns in the cube
    combine: tuple[str, ...]  # per column: the SQL combining them, with {0}, {1} for the partials


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_numeric(sql_type: str) -> bool:
    return sql_type in _INT_TYPES or sql_type in _FLOAT_TYPES or sql_type.startswith("DECIMAL")


@dataclass(frozen=True)
class _Relation:
    """A query plus what the pandas frame it stands for looks like."""

    sql: str
    types: dict[str, str]  # every column of the query, visible or not
    visible: tuple[str, ...]  # the frame's columns, in order
    index: str = "range"  # "range": RangeIndex from `offset`; "rowid": labels in ROWID; "keys": `keys`
    keys: tuple[str, ...] = ()
    offset: int = 0
    order: tuple[str, ...] = ()  # ORDER BY terms fixing the row order; () = insertion order
    order_columns: tuple[str, ...] = ()  # columns the terms read, carried along so outer queries can re-sort
    collations: tuple[tuple[str, str], ...] = ()  # column -> the SQL expression its values sort by
    cube: CubeColumns | None = None  # set when the relation is a rollup cube of the first aggregate

    def sort_key(self, name: str) -> str:
        """What ORDER BY uses for ``name``: the column, or the expression that gives its pandas order."""
        return dict(self.collations).get(name, quote(name))

    def hidden(self) -> tuple[str, ...]:
        index = self.keys if self.index == "keys" else (ROWID,) if self.index == "rowid" else ()
        carried = []
        for name in (*index, *self.order_columns):
            if name not in self.visible and name not in carried:
                carried.append(name)
        return tuple(carried)

    def select(self, body: str, *, suffix: str = "") -> str:
        order = f" ORDER BY {', '.join(self.order)}" if self.order else ""
        return f"SELECT {body} FROM ({self.sql}) AS _lx{suffix}{order}"


class _NotExpressible(ValueError):
    """This transform (configuration) has no exact SQL equivalent; stop pushing here."""


@dataclass
class PushdownPlan:
    sql: str
    pushed: int  # how many leading transforms the SQL performs
    relation: _Relation
    reasons: list[str] = field(default_factory=list)  # why pushing stopped, for `explain`

    def finish(self, df: pd.DataFrame) -> pd.DataFrame:
        """Give the fetched frame the index and column order the pandas path would have."""
        rel = self.relation
        if rel.index == "keys":
            df = df.set_index(list(rel.keys))
        elif rel.index == "rowid":
            df = df.set_index(ROWID)
            df.index.name = None
        elif rel.offset:
            df.index = pd.RangeIndex(rel.offset, rel.offset + len(df))
        return df[list(rel.visible)]


def compile_pushdown(
    base_sql: str,
    transforms: Sequence[Any],
    types_of: Callable[[str], dict[str, str]],
    insertion_ordered: bool = True,
    row_labels: bool = False,
    collations: Mapping[str, str] | None = None,
    cube: CubeColumns | None = None,
) -> PushdownPlan:
    """Push the longest expressible prefix of ``transforms`` onto ``base_sql``.

    ``types_of(sql)`` returns the DuckDB column types of a query without running it. With ``row_labels``
    the base query carries the frame's index labels in a ``ROWID`` column (a filtered pandas frame keeps
    the labels of the rows it kept), and the result is indexed by them. ``collations`` maps a column to
    the SQL expression whose order is pandas' order of its values (a ``category`` sorts by category
    position, not alphabetically); grouping and sorting on it use that expression. With ``cube``,
    ``base_sql`` is a rollup cube and the first transform must be the aggregate it was built for.
    """
    types = types_of(base_sql)
    if any(t.startswith("GEOMETRY") for t in types.values()) or (ROWID in types) != row_labels:
        return PushdownPlan(base_sql, 0, _Relation(base_sql, types, tuple(types)), ["unsupported columns"])
    sorts = tuple((collations or {}).items())
    if row_labels:
        rel = _Relation(
            base_sql, types, tuple(c for c in types if c != ROWID), index="rowid", collations=sorts
        )
    else:
        rel = _Relation(base_sql, types, tuple(types), collations=sorts, cube=cube)
    pushed, reasons = 0, []
    for transform in transforms:
        compiler = _COMPILERS.get(type(transform).__name__) if _is_lumen(transform) else None
        if compiler is None:
            reasons.append(f"{type(transform).__name__} has no SQL form")
            break
        try:
            sql, new = compiler(transform, rel, insertion_ordered)
        except _NotExpressible as e:
            reasons.append(f"{type(transform).__name__}: {e}")
            break
        rel = replace(new, sql=sql, types=types_of(sql))
        pushed += 1
    body = ", ".join(quote(c) for c in (*rel.visible, *rel.hidden()))
    final_sql = rel.select(body) if pushed or row_labels else base_sql
    return PushdownPlan(final_sql, pushed, rel, reasons)


def _is_lumen(transform: Any) -> bool:
    # A subclass may override apply(); only Lumen's own classes are known to mean what we compile.
    return type(transform).__module__ == "lumen.transforms.base"


def _require_columns(rel: _Relation, names: Sequence[str], allow_keys: bool = False) -> None:
    keys = rel.keys if allow_keys and rel.index == "keys" else ()
    _require_visible((*rel.visible, *keys), names)


def _require_visible(visible: Sequence[str], names: Sequence[str]) -> None:
    missing = [n for n in names if n not in set(visible)]
    if missing:
        raise _NotExpressible(f"unknown column(s) {missing}")


def _columns(t: Any, rel: _Relation, _ordered: bool) -> tuple[str, _Relation]:
    cols = list(t.columns or [])
    if not cols or len(set(cols)) != len(cols):
        raise _NotExpressible("empty or duplicate column list")
    _require_columns(rel, cols)
    new = replace(rel, visible=tuple(cols))
    body = ", ".join(quote(c) for c in (*cols, *new.hidden()))
    return rel.select(body), new


def _iloc(t: Any, rel: _Relation, ordered: bool) -> tuple[str, _Relation]:
    start, end = t.start or 0, t.end
    if start < 0 or (end is not None and end < 0):
        raise _NotExpressible("negative bounds")
    if rel.index != "keys" and not rel.order and not ordered:
        raise _NotExpressible("row order not fixed")
    limit = "" if end is None else f" LIMIT {max(end - start, 0)}"
    sql = rel.select("*") + f"{limit} OFFSET {start}"
    return sql, replace(rel, offset=rel.offset + start) if rel.index == "range" else rel


def aggregate_columns(
    t: Any, types: Mapping[str, str], visible: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The group keys and aggregated columns of Lumen's ``Aggregate`` ``t`` over a frame of these columns, as
    pandas picks them (every numeric non-key column when none are named); raises ``ValueError`` when the
    aggregate has no exact SQL form."""
    if t.method not in _AGGREGATES or t.kwargs:
        raise _NotExpressible(f"method {t.method!r} with kwargs {t.kwargs!r}")
    by = list(t.by or [])
    if not by or len(set(by)) != len(by):
        raise _NotExpressible("empty group-by")
    _require_visible(visible, by)
    if t.columns:
        cols = list(t.columns)
        _require_visible(visible, cols)
        if set(cols) & set(by) or not all(_is_numeric(types[c]) for c in cols):
            raise _NotExpressible("non-numeric or key column aggregated")
    else:
        cols = [c for c in visible if c not in by and _is_numeric(types[c])]
    if len(set(cols)) != len(cols):
        raise _NotExpressible("duplicate columns")
    return by, cols


def clean_value(name: str, sql_type: str) -> str:
    """The column as pandas aggregates it: NaN is missing (DuckDB treats it as a value)."""
    value = quote(name)
    return f"CASE WHEN isnan({value}) THEN NULL ELSE {value} END" if sql_type in _FLOAT_TYPES else value


def keys_present(by: Sequence[str], types: Mapping[str, str]) -> str:
    """The SQL condition keeping the rows pandas groups: no key missing (NULL, or NaN in a float key)."""
    return " AND ".join(
        f"{quote(k)} IS NOT NULL" + (f" AND NOT isnan({quote(k)})" if types[k] in _FLOAT_TYPES else "")
        for k in by
    )


def _aggregate(t: Any, rel: _Relation, _ordered: bool) -> tuple[str, _Relation]:
    method = t.method
    if rel.cube is not None:  # combine the cube's partials, per group of the keys
        cube = rel.cube
        if (method, tuple(t.by or ()), t.kwargs) != (cube.method, cube.by, {}):
            raise _NotExpressible("not the aggregate the cube was built for")
        by, cols = list(cube.by), list(cube.columns)
        types = dict(cube.types)
        exprs = [
            combine.format(*(quote(p) for p in partials))
            for combine, partials in zip(cube.combine, cube.partials, strict=True)
        ]
    else:
        by, cols = aggregate_columns(t, rel.types, rel.visible)
        types = rel.types
        exprs = [_AGGREGATES[method].format(v=clean_value(c, types[c])) for c in cols]
    aggs = []
    for c, expr in zip(cols, exprs, strict=True):
        if rel.cube is None and method == "sum" and types[c] in _INT_TYPES:
            expr = f"CAST({expr} AS BIGINT)"  # SUM widens to HUGEINT, which pandas gets as float
        aggs.append(f"{expr} AS {quote(c)}")
    keys = ", ".join(quote(k) for k in by)
    order = tuple(f"{rel.sort_key(k)} ASC" for k in by)
    sql = (
        f"SELECT {keys}, {', '.join(aggs)} FROM ({rel.sql}) AS _lx WHERE {keys_present(by, rel.types)} "
        f"GROUP BY {keys} ORDER BY {', '.join(order)}"
    )
    if t.with_index:
        new = _Relation(
            sql,
            {},
            tuple(cols),
            index="keys",
            keys=tuple(by),
            order=order,
            order_columns=tuple(by),
            collations=rel.collations,
        )
    else:
        new = _Relation(
            sql, {}, tuple(by + cols), order=order, order_columns=tuple(by), collations=rel.collations
        )
    return sql, new


def _sort(t: Any, rel: _Relation, _ordered: bool) -> tuple[str, _Relation]:
    by = list(t.by or [])
    if not by:
        raise _NotExpressible("empty sort")
    _require_columns(rel, by, allow_keys=True)
    ascending = t.ascending if isinstance(t.ascending, list) else [t.ascending] * len(by)
    if len(ascending) != len(by) or not all(isinstance(a, bool) for a in ascending):
        raise _NotExpressible("ascending does not match by")
    if rel.index == "range":
        if not rel.order:
            # The labels pandas would permute are positions in insertion order, which a window
            # function does not promise to see; leave this sort to pandas.
            raise _NotExpressible("row labels not reproducible")
        number = f"(ROW_NUMBER() OVER (ORDER BY {', '.join(rel.order)}) - 1 + {rel.offset})"
        body = ", ".join(quote(c) for c in (*rel.visible, *rel.hidden()))
        rel = replace(rel, sql=rel.select(f"{body}, {number} AS {quote(ROWID)}"), index="rowid", offset=0)
    terms = []
    for col, asc in zip(by, ascending, strict=True):
        q, direction = quote(col), "ASC" if asc else "DESC"
        if rel.types.get(col, "") in _FLOAT_TYPES:
            terms.append(f"({q} IS NULL OR isnan({q})) ASC")
        terms.append(f"{rel.sort_key(col)} {direction} NULLS LAST")
    index = rel.keys if rel.index == "keys" else (ROWID,)
    order = tuple(terms + [f"{rel.sort_key(k)} ASC" for k in index])
    new = replace(rel, order=order, order_columns=(*by, *index))
    return new.select("*"), new


_COMPILERS: dict[str, Callable[[Any, _Relation, bool], tuple[str, _Relation]]] = {
    "Columns": _columns,
    "Iloc": _iloc,
    "Aggregate": _aggregate,
    "Sort": _sort,
}
