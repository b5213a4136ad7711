"""The source stage that runs as one SQL query: on a DuckDB source, or by DuckDB over a file source's file
(:mod:`lumen_ext.cache.filescan`), with every leading transform SQL can express pushed into it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.filescan import NotScannable, fetch_with, file_scan_for
from lumen_ext.cache.hashing import Unhashable
from lumen_ext.cache.lru import LRU
from lumen_ext.cache.plancache import BASE, CompiledQuery, plan_cache, with_base
from lumen_ext.cache.pushdown import PushdownPlan, compile_pushdown
from lumen_ext.cache.rollup import run_on_cube
from lumen_ext.cache.rollup_stage import CubeInputs, filter_fields, source_query_stage, try_rollup
from lumen_ext.cache.sql_chain import apply_sql, sql_chain
from lumen_ext.cache.stage_plan import Plan, chain_key, raw_get, transform_token

if TYPE_CHECKING:
    from lumen.pipeline import Pipeline

    from lumen_ext.cache.store import StageStore

__all__ = ["can_push", "duckdb_query_stage", "expected_dtypes", "file_scan_stage"]


# Transforms that make the data smaller, worth pushing into the query (a sort after them is not).
_SHRINKING = frozenset({"Aggregate", "Columns", "Iloc"})


# Column types of a query DuckDB has bound, by the source's data version and the query.
_TYPES: LRU[tuple, dict[str, str]] = LRU(max_entries=2048)


def _duckdb_types(source: Any, freshness_key: str) -> Callable[[str], dict[str, str]]:
    def types_of(sql: str) -> dict[str, str]:
        key = (freshness_key, sql)
        types = _TYPES.get(key)
        if types is not None:
            return types
        # Binding a relation plans the query without running it.
        with source._connection.cursor() as cursor:
            rel = cursor.sql(sql)
            types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
        _TYPES.put(key, types)
        return types

    return types_of


def _insertion_ordered(source: Any) -> bool:
    with source._connection.cursor() as cursor:
        value = cursor.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    return bool(value)


def can_push(pipeline: Pipeline, config: CacheConfig) -> str | None:
    """None when the DuckDB pushdown applies, else why not."""
    from lumen.sources.duckdb import DuckDBSource

    source = pipeline.source
    if not config.pushdown:
        return "pushdown disabled"
    if not isinstance(source, DuckDBSource):
        return f"{type(source).__name__} is not a DuckDB source"
    if not source.filter_in_sql:
        return "filter_in_sql is off"
    if source.dataframe_backend is not None:
        return f"dataframe_backend={source.dataframe_backend!r}"
    if source.table_params.get(pipeline.table):
        return "table uses SQL parameters"
    return None


def _shape_key(base: str | None, *parts: Any) -> str | None:
    """Key of a compiled query: ``base`` (source, file versions, table) and transforms, no filter values."""
    try:
        return chain_key(base, "shape", *parts)
    except Unhashable:
        return None


def _compile_shrinking(compile: Callable[[list], PushdownPlan], transforms: list) -> PushdownPlan:
    """Push what shrinks the data; a trailing sort of the (small) result stays a stage of its own, so
    flipping its direction re-sorts the cached rows instead of re-running the query."""
    push = compile(transforms)
    shrinking = [i for i in range(push.pushed) if type(transforms[i]).__name__ in _SHRINKING]
    cut = shrinking[-1] + 1 if shrinking else 0
    if cut != push.pushed:
        push = compile(transforms[:cut])
        push.reasons.append("trailing sort kept in pandas over the reduced result")
    return push


def duckdb_query_stage(
    pipeline: Pipeline, query: dict, base: str | None, sql_transforms: list, plan: Plan, store: StageStore
) -> str | None:
    source, table, transforms = pipeline.source, pipeline.table, list(pipeline.transforms)
    config = store.config
    dims = filter_fields(pipeline)
    try:
        shape = _shape_key(
            base,
            "duckdb",
            [transform_token(t) for t in sql_transforms],
            [transform_token(t) for t in transforms],
            dims,
        )
    except Unhashable:
        shape = None

    def compile() -> CompiledQuery:
        expr = source.get_sql_expr(table)
        raw_types = _duckdb_types(source, base or "")
        projected = sql_chain(expr, [], sql_transforms)
        types_of = with_base(raw_types, projected)
        ordered = _insertion_ordered(source)
        push = _compile_shrinking(lambda ts: compile_pushdown(BASE, ts, types_of, ordered), transforms)
        over = CubeInputs(expr, raw_types(expr), projected, raw_types, ordered, sql_transforms[1:])
        rollup = try_rollup(pipeline, config, push, dims, over)
        return CompiledQuery(push.sql, push, tuple(push.reasons), {"expr": expr, "rollup": rollup})

    try:
        compiled = plan_cache.get_or_compile(shape, compile)
        sql = compiled.render(sql_chain(compiled.extra["expr"], list(query.items()), sql_transforms))
    except Exception as e:  # a query DuckDB cannot bind here: let Lumen's own path run it
        plan.notes.append(f"pushdown skipped: {e}")
        return None
    push = compiled.push
    plan.pushed = push.pushed
    plan.notes.extend(compiled.reasons)
    key = chain_key(base, "sql", sql)

    def run_sql(_: Any) -> Any:
        return push.finish(source.fetch(sql))

    def query_cube(cube: Any) -> Any:
        def sql_for(name: str) -> str:
            grouped = rollup.query(name, lambda relation: sql_chain(relation, list(query.items()), []))
            if pipeline.sql_transforms:  # the cube stands for the first; the others apply to what it gives
                return compiled.render(apply_sql(grouped, sql_transforms[1:]))
            return grouped

        def fetch(cursor: Any, rollup_sql: str) -> Any:
            return cursor.execute(rollup_sql).fetch_df(date_as_object=True)  # as DuckDBSource.fetch does

        return run_on_cube(source._connection, cube, sql_for, fetch)

    rollup = compiled.extra["rollup"]
    detail = f"{push.pushed} transform(s) pushed into SQL"
    plan.stages.append(
        source_query_stage(
            key, sql, detail, rollup, shape, base, plan, store, source.fetch, query_cube, run_sql
        )
    )
    return key


def file_scan_stage(
    pipeline: Pipeline,
    store: StageStore,
    query: dict,
    freshness: tuple,
    base: str,
    plan: Plan,
    pushable: bool,
) -> str | None:
    source, table, config = pipeline.source, pipeline.table, store.config
    transforms = list(pipeline.transforms) if pushable else []
    try:
        scan = file_scan_for(source, table, config, freshness, read=lambda: raw_get(source, table))
        base_sql = scan.filtered_sql(list(query.items()))
        dims = filter_fields(pipeline)
        shape = _shape_key(base, "file", [transform_token(t) for t in transforms], dims)
    except NotScannable as e:
        plan.notes.append(f"read by Lumen's reader: {e}")
        return None
    except Unhashable:
        shape = None

    def compile() -> CompiledQuery:
        types_of = with_base(scan.types_of, scan.base_sql)
        push = _compile_shrinking(
            lambda ts: compile_pushdown(
                BASE, ts, types_of, insertion_ordered=True, row_labels=True, collations=scan.collations
            ),
            transforms,
        )
        targets = expected_dtypes(scan.dtypes, transforms[: push.pushed])
        over = CubeInputs(
            scan.base_sql, scan.raw_types, scan.base_sql, scan.types_of, True, (), scan.collations
        )
        rollup = try_rollup(pipeline, config, push, dims, over)
        return CompiledQuery(push.sql, push, tuple(push.reasons), {"targets": targets, "rollup": rollup})

    try:
        compiled = plan_cache.get_or_compile(shape, compile)
    except Exception as e:  # e.g. a column type DuckDB reads but the compiler does not know
        plan.notes.append(f"file scan skipped: {e}")
        return None
    push, targets = compiled.push, compiled.extra["targets"]
    sql = compiled.render(base_sql)
    plan.pushed = push.pushed
    plan.notes.extend(compiled.reasons)
    key = chain_key(base, "sql", sql)

    def run_scan(_: Any) -> Any:
        return push.finish(scan.fetch(sql, targets))

    def query_cube(cube: Any) -> Any:
        def sql_for(name: str) -> str:
            conditions = scan.where(list(query.items()))
            return rollup.query(name, lambda relation: f"SELECT * FROM ({relation}) AS _cube{conditions}")

        return run_on_cube(scan.connection, cube, sql_for, lambda c, q: fetch_with(c, q, targets))

    rollup = compiled.extra["rollup"]
    detail = f"DuckDB over {scan.origin}, {push.pushed} transform(s) pushed into SQL"

    def fetch_cube(cube_sql: str) -> Any:
        return scan.fetch(cube_sql, {})

    plan.stages.append(
        source_query_stage(
            key, sql, detail, rollup, shape, base, plan, store, fetch_cube, query_cube, run_scan
        )
    )
    return key


def expected_dtypes(dtypes: dict[str, Any], transforms: list) -> dict[str, Any]:
    """dtype of each result column (index levels included) that pandas would produce after ``transforms``.

    Found by running the transforms on an empty frame of the source's dtypes: cheap, and by construction
    what Lumen's own code does with those dtypes. Casting the fetched frame to it removes the dtype
    differences DuckDB introduces (an integer column without nulls in the result where pandas has float64
    because the file has nulls elsewhere, a ``sum`` of ``int8`` that pandas widens, ...).
    """
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in dtypes.items()})
    try:
        for t in transforms:
            frame = t.apply(t._coerce(frame))
    except Exception:  # a transform that cannot run on no rows: keep the source's dtypes
        return dict(dtypes)
    targets = dict(frame.dtypes)
    if any(name is not None for name in frame.index.names):
        for i, name in enumerate(frame.index.names):
            targets[name] = frame.index.get_level_values(i).dtype
    # Group keys become a new index that pandas infers from the values (an object column of booleans
    # with nulls groups into a bool index), which an empty frame cannot show: keep what DuckDB returns.
    for t in transforms:
        if type(t).__name__ == "Aggregate":
            for key in t.by or []:
                if key in targets and targets[key] == np.dtype(object):
                    del targets[key]
    return targets
