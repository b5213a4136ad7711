"""The stage chain of a Lumen pipeline, with a content key per stage.

A pipeline's data is computed by a chain of stages: read the source (with filters and, on DuckDB or a
large Parquet file of a ``file`` source, every leading transform SQL can express), apply the ``param``
filters, then each remaining Python transform.
A chained pipeline (``pipeline: parent``) starts from its parent's data instead of a source. Each stage's
key hashes its upstream key with its own inputs, so a change re-keys exactly the stage it feeds and
those below it; everything above stays a cache hit. A stage whose inputs cannot be hashed stably gets no
key, and neither does anything below it: those run uncached, as in Lumen.

Building a plan reads no data: it is what ``lumen-ext explain`` prints, and what the runtime executes.
It runs on every computation, so what does not depend on the filter values (the compiled query and its
column types) comes from :mod:`lumen_ext.cache.plancache`, and file fingerprints cost a ``stat``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.filescan import NotScannable, fetch_with, file_scan_for
from lumen_ext.cache.fingerprint import source_freshness, source_identity, source_ttl
from lumen_ext.cache.hashing import Unhashable, combine
from lumen_ext.cache.lru import LRU
from lumen_ext.cache.plancache import BASE, CompiledQuery, plan_cache, rendered_sql, with_base
from lumen_ext.cache.pushdown import ROWID, PushdownPlan, compile_pushdown
from lumen_ext.cache.rollup import (
    CubeSource,
    Rollup,
    compile_rollup,
    compile_sql_rollup,
    is_refused,
    run_on_cube,
)
from lumen_ext.cache.rollup import answer as answer_from_cube

if TYPE_CHECKING:
    from lumen.pipeline import Pipeline

    from lumen_ext.cache.store import StageStore

__all__ = ["Plan", "Stage", "build_plan", "transform_token"]

PLAN_VERSION = 1
_SHRINKING = frozenset(
    {"Aggregate", "Columns", "Iloc"}
)  # bump when what a stage computes changes for the same key


@dataclass
class Stage:
    name: str
    where: str  # "sql", "source", "pandas" or "parent"
    key: str | None
    run: Callable[[Any], Any] = field(repr=False)
    sql: str | None = None
    detail: str = ""
    # Whether the stage can run now from what the memory tier holds, without reading the source (a rollup cube).
    from_memory: Callable[[], bool] | None = field(default=None, repr=False)


@dataclass
class Plan:
    stages: list[Stage]
    ttl: float | None = None
    pushed: int = 0  # leading transforms the source query performs
    notes: list[str] = field(default_factory=list)

    @property
    def final_key(self) -> str | None:
        return self.stages[-1].key if self.stages else None


def transform_token(transform: Any) -> tuple:
    """What identifies a transform's effect: its class and parameter values (raises Unhashable)."""
    cls = type(transform)
    module = sys.modules.get(cls.__module__)
    if module is None or getattr(module, cls.__qualname__, None) is not cls:
        # e.g. a class exec'd from a spec folder's transforms.py: the name alone does not say which code.
        raise Unhashable(f"{cls.__qualname__} is not importable by name")
    values = {k: v for k, v in transform.param.values().items() if k not in ("name", "controls")}
    return (f"{cls.__module__}.{cls.__qualname__}", values)


def _chain(parent: str | None, *parts: Any) -> str | None:
    if parent is None:
        return None
    try:
        return combine(parent, *parts)
    except Unhashable:
        return None


def raw_get(source: Any, table: str, **query: Any) -> Any:
    """``source.get`` without Lumen's per-source cache, which never notices a changed file.

    Mirrors the post-processing of Lumen's ``@cached`` wrapper (sources/base.py:107-156): collect a lazy
    frame, compute a dask one unless the source asked for dask.
    """
    from lumen.util import collect_lazy

    get = type(source).get
    method = getattr(get, "__wrapped__", None)
    if method is None:
        return source.get(table, **query)
    df = method(source, table, **query)
    collected = collect_lazy(df)
    if collected is not df:
        return collected
    if getattr(source, "dask", False) or not hasattr(df, "compute"):
        return df
    return df.compute()


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


def _can_push(pipeline: Pipeline, config: CacheConfig) -> str | None:
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
        return _chain(base, "shape", *parts)
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


def _sql_chain(expr: str, conditions: list, sql_transforms: list) -> str:
    from lumen.transforms.sql import SQLFilter

    try:
        key = combine(None, "sql-chain", expr, conditions, [transform_token(t) for t in sql_transforms])
    except Unhashable:
        key = None
    return rendered_sql.get_or_compile(
        key, lambda: _apply_sql(expr, [SQLFilter(conditions=conditions), *sql_transforms])
    )


def _apply_sql(sql: str, sql_transforms: Sequence[Any]) -> str:
    for st in sql_transforms:
        sql = st.apply(sql)
    return sql


def _duckdb_query_stage(
    pipeline: Pipeline, query: dict, base: str | None, sql_transforms: list, plan: Plan, store: StageStore
) -> str | None:
    source, table, transforms = pipeline.source, pipeline.table, list(pipeline.transforms)
    config = store.config
    dims = _filter_fields(pipeline)
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
        projected = _sql_chain(expr, [], sql_transforms)
        types_of = with_base(raw_types, projected)
        ordered = _insertion_ordered(source)
        push = _compile_shrinking(lambda ts: compile_pushdown(BASE, ts, types_of, ordered), transforms)
        over = _CubeSource(expr, raw_types(expr), projected, raw_types, ordered, sql_transforms[1:])
        rollup = _try_rollup(pipeline, config, push, dims, over)
        return CompiledQuery(push.sql, push, tuple(push.reasons), {"expr": expr, "rollup": rollup})

    try:
        compiled = plan_cache.get_or_compile(shape, compile)
        sql = compiled.render(_sql_chain(compiled.extra["expr"], list(query.items()), sql_transforms))
    except Exception as e:  # a query DuckDB cannot bind here: let Lumen's own path run it
        plan.notes.append(f"pushdown skipped: {e}")
        return None
    push = compiled.push
    plan.pushed = push.pushed
    plan.notes.extend(compiled.reasons)
    key = _chain(base, "sql", sql)

    def run_sql(_: Any) -> Any:
        return push.finish(source.fetch(sql))

    def query_cube(cube: Any) -> Any:
        def sql_for(name: str) -> str:
            grouped = rollup.query(name, lambda relation: _sql_chain(relation, list(query.items()), []))
            if pipeline.sql_transforms:  # the cube stands for the first; the others apply to what it gives
                return compiled.render(_apply_sql(grouped, sql_transforms[1:]))
            return grouped

        def fetch(cursor: Any, rollup_sql: str) -> Any:
            return cursor.execute(rollup_sql).fetch_df(date_as_object=True)  # as DuckDBSource.fetch does

        return run_on_cube(source._connection, cube, sql_for, fetch)

    rollup = compiled.extra["rollup"]
    detail = f"{push.pushed} transform(s) pushed into SQL"
    plan.stages.append(
        _source_query(key, sql, detail, rollup, shape, base, plan, store, source.fetch, query_cube, run_sql)
    )
    return key


def _filter_fields(pipeline: Pipeline) -> tuple[str, ...]:
    """The columns the pipeline's filters can ever constrain in the source query (a cube's dimensions)."""
    from lumen.filters.base import ParamFilter

    fields = [
        f.field
        for f in pipeline.filters
        if not isinstance(f, ParamFilter) and f.field and (f.table is None or f.table == pipeline.table)
    ]
    return tuple(dict.fromkeys(fields))


@dataclass(frozen=True)
class _CubeSource:
    """What a rollup cube is built over, and how the direct query reads it."""

    sql: str  # the unfiltered source query
    types: dict[str, str]  # its columns
    # The unfiltered query the pushed transforms read: the source query and the SQL transforms.
    projected: str
    types_of: Callable[[str], dict[str, str]]
    ordered: bool  # DuckDB preserves insertion order
    rest: tuple = ()  # the SQL transforms after a rolled-up ``sql_group_by`` (a projection included)
    collations: dict[str, str] | None = None


def _try_rollup(
    pipeline: Pipeline, config: CacheConfig, push: PushdownPlan, dims: tuple[str, ...], over: _CubeSource
) -> Rollup | str:
    """The pipeline's rollup cube, or why it has none."""
    if not config.rollup_max_rows:
        return "rollup cubes are off"
    try:
        if pipeline.sql_transforms:
            first = pipeline.sql_transforms[0]
            if type(first).__name__ != "SQLGroupBy" or type(first).__module__ != "lumen.transforms.sql":
                return "the pipeline's SQL transforms do not start with sql_group_by"
            rollup = compile_sql_rollup(first, over.sql, over.types, dims, push, over.types_of)
        elif push.pushed:
            # What the aggregate sees, without a file scan's row labels.
            projected = {c: t for c, t in over.types_of(over.projected).items() if c != ROWID}
            rollup = compile_rollup(
                pipeline.transforms[0],
                over.sql,
                over.types,
                projected,
                dims,
                pipeline.transforms,
                push.pushed,
                over.types_of,
                insertion_ordered=over.ordered,
                collations=over.collations,
            )
        else:
            return "no aggregate pushed"
        # The rollup must give the columns and types the table query gives (DuckDB binds both; nothing runs).
        grouped = rollup.grouped.replace(BASE, f"SELECT * FROM ({rollup.cube_sql}) AS _cube", 1)
        if pipeline.sql_transforms:
            grouped = push.sql.replace(BASE, _apply_sql(grouped, over.rest), 1)
        direct = push.sql.replace(BASE, over.projected, 1)
        if list(over.types_of(grouped).items()) != list(over.types_of(direct).items()):
            return "the rollup's columns or types differ from the table query's"
        return rollup
    except Exception as e:  # ValueError: no cube for this pipeline; a binding error: its SQL is invalid here
        return str(e)


def _source_query(
    key: str | None,
    sql: str,
    detail: str,
    rollup: Rollup | str,
    shape: str | None,
    base: str | None,
    plan: Plan,
    store: StageStore,
    fetch_cube: Callable[[str], Any],
    query_cube: Callable[[Any], Any],
    direct: Callable[[Any], Any],
) -> Stage:
    """The stage running the pushed query: ``direct``, or answered from the rollup cube when the pipeline has one."""
    if isinstance(rollup, str):
        plan.notes.append(f"no rollup cube: {rollup}")
        return Stage("source query", "sql", key, direct, sql=sql, detail=detail)
    refused = is_refused(shape)
    cube_key = _chain(base, "cube", rollup.cube_sql)
    if refused or cube_key is None:
        plan.notes.append(f"no rollup cube: {refused or 'the source is not cacheable'}")
        return Stage("source query", "sql", key, direct, sql=sql, detail=detail)
    plan.notes.append(f"rollup cube: {rollup.cube_sql}")

    cube = CubeSource(rollup, shape, cube_key, plan.ttl, store.config.rollup_max_rows, fetch_cube, store)

    def run(_: Any) -> Any:
        return answer_from_cube(cube, query_cube, lambda: direct(None))

    def from_memory() -> bool:
        return store.memory.holds(cube_key) and not is_refused(shape)

    detail += f", answered from a rollup cube by {', '.join(rollup.dims)}"
    return Stage("source query", "sql", key, run, sql=sql, detail=detail, from_memory=from_memory)


def _file_scan_stage(
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
        dims = _filter_fields(pipeline)
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
        over = _CubeSource(
            scan.base_sql, scan.raw_types, scan.base_sql, scan.types_of, True, (), scan.collations
        )
        rollup = _try_rollup(pipeline, config, push, dims, over)
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
    key = _chain(base, "sql", sql)

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
        _source_query(key, sql, detail, rollup, shape, base, plan, store, fetch_cube, query_cube, run_scan)
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


def build_plan(pipeline: Pipeline, store: StageStore, parent_key: str | None = None) -> Plan:
    """The stages computing ``pipeline.data``; ``parent_key`` is the key of the parent's current data.

    ``store`` is the stage store the plan will run against: its configuration shapes the plan, and the stages
    answered from a rollup cube read and build the cube there.
    """
    from lumen.filters.base import ParamFilter

    plan = Plan([])
    query = pipeline._filter_query()
    if pipeline.pipeline is None:
        key = _source_stages(pipeline, store, query, plan)
    else:
        parent = pipeline.pipeline
        key = parent_key
        plan.stages.append(Stage("parent data", "parent", key, lambda _: parent.data, detail=parent.name))
        if query:
            key = _chain(key, "filter", sorted(query.items()))
            plan.stages.append(_filter_stage(query, key))
    transforms = list(pipeline.transforms)
    pushed = plan.pushed
    for filt in pipeline.filters:
        if isinstance(filt, ParamFilter) and filt.value is not None:
            key = _chain(key, "param_filter", filt.field, filt.value)
            plan.stages.append(Stage(f"param filter {filt.name}", "pandas", key, _param_filter(filt)))
    for i, transform in enumerate(transforms[pushed:], start=pushed):
        try:
            token = transform_token(transform)
        except Unhashable as e:
            plan.notes.append(f"transform {i} ({type(transform).__name__}) uncacheable: {e}")
            token, key = None, None
        key = _chain(key, "transform", token) if token is not None else None
        label = f"transform[{i}] {getattr(transform, 'transform_type', None) or type(transform).__name__}"
        plan.stages.append(Stage(label, "pandas", key, _transform(transform)))
    return plan


def _source_stages(pipeline: Pipeline, store: StageStore, query: dict, plan: Plan) -> str | None:
    from lumen.filters.base import ParamFilter
    from lumen.sources.base import FileSource

    source, table, config = pipeline.source, pipeline.table, store.config
    plan.ttl = source_ttl(source, config)
    freshness = None
    try:
        freshness = source_freshness(source, table, config)
        base = combine(None, PLAN_VERSION, source_identity(source), freshness, table)
    except (Unhashable, OSError) as e:
        plan.notes.append(f"source uncacheable: {e}")
        base = None
    sql_transforms = list(pipeline.sql_transforms)
    if (pushdown := getattr(source, "lumen_ext_pushdown", None)) is not None and not sql_transforms:
        return _lazy_source_stage(pipeline, pushdown, base, query, plan)
    projection = pipeline._pushdown_transform()
    param_filtered = any(isinstance(f, ParamFilter) and f.value is not None for f in pipeline.filters)

    if isinstance(source, FileSource):
        if sql_transforms:
            pass  # Lumen rejects these on a file source; its own path raises the error
        elif config.file_scan and config.pushdown and base is not None:
            # ParamFilters run in pandas between the source and the transforms: push no transform then.
            key = _file_scan_stage(pipeline, store, query, freshness, base, plan, not param_filtered)
            if key is not None:
                return key
        # Parse the file once per version and filter the parsed frame; Lumen re-reads the whole file
        # for every new filter combination (sources/base.py:1059-1064).
        if not sql_transforms:
            key = _chain(base, "read")
            plan.stages.append(Stage(f"read {table}", "source", key, lambda _: raw_get(source, table)))
            if query:
                key = _chain(key, "filter", sorted(query.items()))
                plan.stages.append(_filter_stage(query, key))
            return key
    else:
        reason = _can_push(pipeline, config)
        if reason is None and not param_filtered:
            key = _duckdb_query_stage(
                pipeline, query, base, [*sql_transforms, *([projection] if projection else [])], plan, store
            )
            if key is not None:
                return key
        elif reason is not None:
            plan.notes.append(f"no pushdown: {reason}")

    get_query = dict(query)
    extra = [*sql_transforms, *([projection] if projection else [])]
    if extra:
        get_query["sql_transforms"] = extra
    try:
        tokens = [transform_token(t) for t in extra]
    except Unhashable:
        tokens, base = [], None
    key = _chain(base, "get", sorted(query.items()), tokens)
    plan.stages.append(Stage(f"get {table}", "source", key, lambda _: raw_get(source, table, **get_query)))
    return key


def _lazy_source_stage(
    pipeline: Pipeline, pushdown: Callable, base: str | None, query: dict, plan: Plan
) -> str | None:
    """One stage for a source that computes its read, filters and leading transforms itself (e.g. Dask);
    see ``lumen_ext.sources.lazy``."""
    from lumen.filters.base import ParamFilter

    # Param filters run on the source's output before any transform, so none can be pushed past them.
    blocked = any(isinstance(f, ParamFilter) and f.value is not None for f in pipeline.filters)
    push = pushdown(pipeline.table, dict(query), [] if blocked else list(pipeline.transforms))
    plan.pushed = push.pushed
    plan.notes.extend(push.reasons)
    try:
        tokens = [transform_token(t) for t in pipeline.transforms[: push.pushed]]
    except Unhashable as e:
        plan.notes.append(f"{push.engine} stage uncacheable: {e}")
        key = None
    else:
        key = _chain(base, push.engine, sorted(query.items()), tokens)
    plan.stages.append(
        Stage(f"{push.engine} {pipeline.table}", "source", key, lambda _: push.run(), detail=push.detail)
    )
    return key


def _filter_stage(query: dict, key: str | None) -> Stage:
    from lumen.transforms.base import Filter as FilterTransform

    conditions = list(query.items())
    detail = ", ".join(f"{k}={v!r}" for k, v in conditions)
    return Stage(
        "filter", "pandas", key, lambda df: FilterTransform.apply_to(df, conditions=conditions), detail=detail
    )


def _param_filter(filt: Any) -> Callable[[Any], Any]:
    def run(data: Any) -> Any:
        from holoviews import Dataset
        from lumen.util import as_pandas

        return Dataset(as_pandas(data)).select(filt.value).data

    return run


def _transform(transform: Any) -> Callable[[Any], Any]:
    def run(data: Any) -> Any:
        return transform.apply(transform._coerce(data))

    return run


def describe_key(key: str | None) -> str:
    return key[:12] if key else "(uncached)"
