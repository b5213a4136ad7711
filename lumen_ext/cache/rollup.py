"""Answer a filtered aggregate from a rollup cube instead of scanning the table for every new selection.

A dashboard aggregates under its filters: the sum of fares per service, for the boroughs picked. Each new
selection scans the whole table again, though every answer is a sum of the same per-borough sums. So the pipeline
gets a cube: the unfiltered table grouped once by the aggregate's keys *and* the filter fields, with partial
aggregates per group (a sum and a count for a mean), kept in the stage cache; every filter state is then answered
by filtering the cube and combining its partials, a query over a few hundred rows instead of the table. It is what
Mosaic's data-cube indexes and OLAP rollups do.

It is exact because a filter on the filter fields holds for all rows of a cube group or for none, so the filtered
cube holds exactly the groups of the filtered rows, and sum, count, min and max of partials are the sum, count,
min and max of the rows (floating-point sums may differ in the last bits, as between any two summation orders).
A mean is a sum over a count. Median, std and var do not decompose: those pipelines query the table as before.
Both aggregates are rolled up: Lumen's ``aggregate`` transform (pandas' semantics, pushed into SQL by
:mod:`~lumen_ext.cache.pushdown`) and a spec's own ``sql_group_by`` (SQL's). Before a cube is used, DuckDB binds
the query over it and the table query, and they must give the same columns and types.

The cube is built in the background after the first computation, which the table answers as before, and is built
once per data version and process (or once per host or cluster through the shared tier). It is kept only when it
has at most ``CacheConfig.rollup_max_rows`` rows: a filter over a column of many values makes a cube as big as the
table, so timestamp and float filter fields are not tried at all. A refused or failed cube is remembered for the
pipeline's shape (source, file versions, transforms, filter fields) and not tried again. ``explain`` shows which.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.lru import LRU
from lumen_ext.cache.plancache import BASE, with_base
from lumen_ext.cache.pushdown import (
    CubeColumns,
    PushdownPlan,
    aggregate_columns,
    clean_value,
    compile_pushdown,
    keys_present,
    quote,
)

if TYPE_CHECKING:
    from lumen_ext.cache.store import StageStore

__all__ = [
    "CubeSource",
    "Rollup",
    "answer",
    "compile_rollup",
    "compile_sql_rollup",
    "is_refused",
    "refusals",
    "refuse",
    "run_on_cube",
    "stats",
    "wait_for_builds",
]

_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
# Aggregated columns whose partials reach pandas and come back exactly (a DECIMAL or HUGEINT would pass as float).
_VALUE_TYPES = _INT_TYPES | {"FLOAT", "DOUBLE"}

# Lumen's aggregate method -> (partials of the NaN-cleaned column {v} per cube group, how the rollup combines them)
_PARTIALS: dict[str, tuple[tuple[str, ...], str]] = {
    "sum": (("SUM({v})",), "COALESCE(SUM({0}), 0)"),
    "count": (("COUNT({v})",), "CAST(COALESCE(SUM({0}), 0) AS BIGINT)"),
    "min": (("MIN({v})",), "MIN({0})"),
    "max": (("MAX({v})",), "MAX({0})"),
    "mean": (("SUM(CAST({v} AS DOUBLE))", "COUNT({v})"), "SUM({0}) / NULLIF(SUM({1}), 0)"),
}

# The same for SQL's own aggregates (sql_group_by), where NaN is a value and a sum of nothing is NULL.
_SQL_PARTIALS: dict[str, tuple[tuple[str, ...], str]] = {
    "sum": (("SUM({v})",), "SUM({0})"),
    "count": (("COUNT({v})",), "CAST(SUM({0}) AS BIGINT)"),
    "min": (("MIN({v})",), "MIN({0})"),
    "max": (("MAX({v})",), "MAX({0})"),
    "mean": (("SUM(CAST({v} AS DOUBLE))", "COUNT({v})"), "SUM({0}) / NULLIF(SUM({1}), 0)"),
}
_SQL_METHODS = {"SUM": "sum", "COUNT": "count", "MIN": "min", "MAX": "max", "AVG": "mean", "MEAN": "mean"}

# Filter fields whose values are few in practice. A timestamp or float filter is a range over values that are
# nearly all distinct: its cube would be the table again, so it is not attempted.
_DIM_TYPES = _INT_TYPES | {"VARCHAR", "BOOLEAN", "DATE"}

log = logging.getLogger("lumen_ext.cache")

# One cube at a time per process: a dashboard's pipelines would otherwise each scan the table at once.
_builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumen-ext-rollup")
_building: set[str] = set()  # cube keys being built
_counters = {"cubes_built": 0, "build_seconds": 0.0}
_building_changed = threading.Condition()


def _after_fork_in_child() -> None:
    # A forked server process (`serve --num-procs`) inherits the executor without its thread, and the keys the
    # parent was building: it would queue builds that never run.
    global _builder, _building_changed
    _builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumen-ext-rollup")
    _building_changed = threading.Condition()
    _building.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)

# Why a pipeline shape's cube is not used, by shape.
_refusals: LRU[str, str] = LRU(max_entries=1024)


@dataclass(frozen=True)
class Rollup:
    """The cube of one pipeline shape and the query answering any of its filter states from it."""

    cube_sql: str  # keys, filter fields and partials per group, over the unfiltered source query
    cube_types: tuple[tuple[str, str], ...]  # what each cube column is in DuckDB
    grouped: str  # the aggregate from the partials, with BASE where the filtered cube goes
    push: PushdownPlan  # shapes the fetched frame as the direct query's plan does
    dims: tuple[str, ...]

    def limited_sql(self, max_rows: int) -> str:
        """The cube query, fetching one row past the limit so that a cube too big is seen without reading it."""
        return f"{self.cube_sql} LIMIT {max_rows + 1}"

    def query(self, cube_name: str, where: Callable[[str], str]) -> str:
        """The aggregate over the cube registered as ``cube_name``; ``where(sql)`` filters a relation.

        A frame handed back to DuckDB is typed from its pandas dtypes (a date column may come back as a
        timestamp, an ENUM as VARCHAR): every column is cast back to its cube type first.
        """
        casts = ", ".join(f"CAST({quote(c)} AS {t}) AS {quote(c)}" for c, t in self.cube_types)
        return self.grouped.replace(BASE, where(f"SELECT {casts} FROM {quote(cube_name)}"), 1)


def compile_rollup(
    transform: Any,
    source_sql: str,
    source_types: dict[str, str],
    projected: dict[str, str],
    dims: Sequence[str],
    transforms: Sequence[Any],
    pushed: int,
    types_of: Callable[[str], dict[str, str]],
    *,
    insertion_ordered: bool,
    collations: dict[str, str] | None = None,
) -> Rollup:
    """The rollup of ``transform``, the pipeline's first (a Lumen ``Aggregate``), grouped also by ``dims``.

    ``source_sql`` is the unfiltered source query with ``source_types``; ``projected`` the columns the aggregate
    sees (a projection may narrow them). The rollup query must push the same ``pushed`` leading ``transforms`` as
    the direct query, so the rest runs in pandas either way. Raises ``ValueError`` with the reason otherwise.
    """
    if type(transform).__name__ != "Aggregate" or transform.method not in _PARTIALS:
        raise ValueError("the first transform is not a sum, count, min, max or mean aggregate")
    by, cols = aggregate_columns(transform, projected, tuple(projected))
    dims = _dimensions(dims, by, source_types)
    partials = [_partials(transform.method, c, source_types[c], i, pandas=True) for i, c in enumerate(cols)]
    # pandas drops rows with a missing key before grouping: so does the cube (it has fewer rows that way).
    cube_sql = _cube_sql(source_sql, by, dims, partials, keys_present(by, source_types))
    cube = CubeColumns(
        transform.method,
        tuple(by),
        tuple(cols),
        tuple((c, projected[c]) for c in cols),
        tuple(names for names, _, _ in partials),
        tuple(combine for _, _, combine in partials),
    )
    push = compile_pushdown(
        BASE,
        list(transforms[:pushed]),
        with_base(types_of, cube_sql),
        insertion_ordered=insertion_ordered,
        collations=collations,
        cube=cube,
    )
    if push.pushed != pushed:
        raise ValueError(f"the cube pushes {push.pushed} transforms, the table query {pushed}")
    return Rollup(cube_sql, tuple(types_of(cube_sql).items()), push.sql, push, tuple(dims))


def compile_sql_rollup(
    group_by: Any,
    source_sql: str,
    source_types: dict[str, str],
    dims: Sequence[str],
    push: PushdownPlan,
    types_of: Callable[[str], dict[str, str]],
) -> Rollup:
    """The rollup of a spec's ``sql_group_by`` (Lumen's ``SQLGroupBy``, first of the pipeline's SQL transforms).

    Its aggregates follow SQL: a NaN is a value, a missing key is a group. ``push`` is the direct query's plan of
    the Python transforms above the SQL ones. Raises ``ValueError`` with the reason when there is no cube.
    """
    by = list(group_by.by or [])
    if not by or not group_by.aggregates:
        raise ValueError("sql_group_by without keys or aggregates")
    columns: list[tuple[str, str]] = []
    for agg, cols in group_by.aggregates.items():
        method = _SQL_METHODS.get(str(agg).upper())
        if method is None:
            raise ValueError(f"{agg} does not decompose")
        columns += [(method, c) for c in ([cols] if isinstance(cols, str) else cols)]
    names = [c for _, c in columns]
    unknown = [c for c in (*by, *names) if c not in source_types]
    if unknown or len(set(names)) != len(names) or set(names) & set(by):
        raise ValueError(f"sql_group_by over expressions, unknown or repeated columns {unknown or names}")
    dims = _dimensions(dims, by, source_types)
    partials = [
        _partials(method, c, source_types[c], i, pandas=False) for i, (method, c) in enumerate(columns)
    ]
    cube_sql = _cube_sql(source_sql, by, dims, partials, None)
    keys = ", ".join(quote(k) for k in by)
    combined = ", ".join(
        f"{combine.format(*(quote(p) for p in names))} AS {quote(c)}"
        for (names, _, combine), c in zip(partials, names, strict=True)
    )
    grouped = f"SELECT {keys}, {combined} FROM ({BASE}) AS _lx GROUP BY {keys}"
    return Rollup(cube_sql, tuple(types_of(cube_sql).items()), grouped, push, tuple(dims))


def _dimensions(dims: Sequence[str], by: Sequence[str], source_types: dict[str, str]) -> list[str]:
    dims = [d for d in dict.fromkeys(dims) if d not in by]
    if not dims:
        raise ValueError("no filter field to roll up")
    for name in dims:
        if name not in source_types:
            raise ValueError(f"filter field {name!r} is not a column of the source")
        if source_types[name] not in _DIM_TYPES and not source_types[name].startswith("ENUM("):
            raise ValueError(f"filter field {name!r} is {source_types[name]}: too many distinct values")
    return dims


def _partials(
    method: str, column: str, sql_type: str, index: int, pandas: bool
) -> tuple[tuple[str, ...], list, str]:
    """(partial column names, their SQL over the column, the SQL combining them) for one aggregated column.

    ``pandas``: the aggregate mirrors pandas (NaN is missing, a sum of nothing is 0), else SQL's own.
    """
    if sql_type not in _VALUE_TYPES:
        raise ValueError(f"{column!r} is {sql_type}: its partials would not come back exactly")
    exprs, combine = (_PARTIALS if pandas else _SQL_PARTIALS)[method]
    value = clean_value(column, sql_type) if pandas else quote(column)
    exprs = [e.format(v=value) for e in exprs]
    if method == "sum" and sql_type in _INT_TYPES:
        # SUM widens to HUGEINT, which reaches pandas as float: keep the partials exact integers.
        exprs = [f"CAST({e} AS BIGINT)" for e in exprs]
        combine = f"CAST({combine} AS BIGINT)" if pandas else f"CAST({combine} AS HUGEINT)"
    names = tuple(f"__lumen_ext_p{index}_{j}" for j in range(len(exprs)))
    return names, exprs, combine


def _cube_sql(
    source_sql: str, by: Sequence[str], dims: Sequence[str], partials: list, where: str | None
) -> str:
    groups = ", ".join(quote(g) for g in (*by, *dims))
    selected = ", ".join(
        f"{expr} AS {quote(name)}"
        for names, exprs, _ in partials
        for name, expr in zip(names, exprs, strict=True)
    )
    where_sql = f" WHERE {where}" if where else ""
    return f"SELECT {groups}, {selected} FROM ({source_sql}) AS _lx{where_sql} GROUP BY {groups}"


def run_on_cube(connection: Any, cube: Any, sql_for: Callable[[str], str], fetch: Callable) -> Any:
    """``fetch(cursor, sql_for(name))``, with ``cube`` (a frame) registered as ``name`` on a cursor of its own.

    A registered frame is visible only to the cursor it was registered on, so concurrent sessions never see
    each other's; the name is unique anyway, and dropped at once.
    """
    name = f"__lumen_ext_cube_{uuid.uuid4().hex}"
    with connection.cursor() as cursor:
        cursor.register(name, cube)
        try:
            return fetch(cursor, sql_for(name))
        finally:
            cursor.unregister(name)


@dataclass(frozen=True)
class CubeSource:
    """Where one pipeline state's cube comes from and is kept."""

    rollup: Rollup
    shape: str | None  # the pipeline shape a refusal is remembered for
    key: str  # the cube's key in the stage cache
    ttl: float | None
    max_rows: int
    fetch: Callable[[str], Any]  # runs the cube's SQL on the source
    store: StageStore  # where the cube is kept


def answer(cube_source: CubeSource, query_cube: Callable[[Any], Any], direct: Callable[[], Any]) -> Any:
    """The pushed query's frame, from the cube by ``query_cube(cube)``, or ``direct()`` until there is one.

    The cube is built in the background, then kept in the stage cache: grouping the whole table by the filter
    fields too costs more than one filtered query, and the viewer who caused it should not wait for it. The states
    asked for meanwhile are answered by the table, as without cubes.
    """
    if is_refused(cube_source.shape):
        return direct()
    cube = cube_source.store.get(cube_source.key)
    if cube is None:
        _build_in_background(cube_source)
        return direct()
    try:
        return cube_source.rollup.push.finish(query_cube(cube))
    except Exception as e:  # a cube DuckDB cannot read back as its types: the table answers, as before
        log.warning("rollup cube not used: the rollup query failed: %s", e)
        refuse(cube_source.shape, f"the rollup query failed: {e}")
        return direct()


def wait_for_builds(timeout: float = 60.0) -> bool:
    """Wait until no cube is being built (for benchmarks and tests); False if ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    with _building_changed:
        while _building:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _building_changed.wait(left)
    return True


def _build_in_background(cube_source: CubeSource) -> None:
    key, shape, max_rows, store = cube_source.key, cube_source.shape, cube_source.max_rows, cube_source.store
    with _building_changed:
        if key in _building:
            return
        _building.add(key)

    def build() -> None:
        t0 = time.perf_counter()
        try:
            cube = cube_source.fetch(cube_source.rollup.limited_sql(max_rows))
            if len(cube) > max_rows:
                log.info("rollup cube not used: more than %s rows", f"{max_rows:,}")
                refuse(shape, f"the cube has more than {max_rows:,} rows")
            else:
                store.put(key, cube, cube_source.ttl)
                with _building_changed:
                    _counters["cubes_built"] += 1
                    _counters["build_seconds"] += time.perf_counter() - t0
        except Exception as e:  # e.g. an integer partial sum beyond BIGINT
            log.info("rollup cube not used: the cube query failed: %s", e)
            refuse(shape, f"the cube query failed: {e}")
        finally:
            with _building_changed:
                _building.discard(key)
                _building_changed.notify_all()

    _builder.submit(build)


def refuse(shape: str | None, reason: str) -> None:
    """Remember that the cube of this pipeline shape is not used (too big, or it failed), so it is tried once."""
    if shape is not None:
        _refusals.put(shape, reason)


def is_refused(shape: str | None) -> str | None:
    """Why this shape's cube was refused, or None."""
    # A read renews the refusal: a shape that live dashboards keep planning is the last whose cube should be
    # tried again.
    return None if shape is None else _refusals.get(shape)


def stats() -> dict[str, Any]:
    """Cubes built by this process and the seconds their queries took; shapes refused a cube."""
    with _building_changed:
        built = dict(_counters)
    return {**built, "refused": len(refusals())}


def refusals() -> dict[str, str]:
    return dict(_refusals.items())
