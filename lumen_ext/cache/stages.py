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

This module chains the stages; the source query pushed into SQL is built by :mod:`~lumen_ext.cache.pushdown_stages`
(answered from a rollup cube by :mod:`~lumen_ext.cache.rollup_stage`), and the records and key chaining they share
are in :mod:`~lumen_ext.cache.stage_plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.fingerprint import source_freshness, source_identity, source_ttl
from lumen_ext.cache.hashing import Unhashable, combine
from lumen_ext.cache.pushdown_stages import can_push, duckdb_query_stage, file_scan_stage
from lumen_ext.cache.stage_plan import Plan, Stage, chain_key, raw_get, transform_token

if TYPE_CHECKING:
    from lumen.pipeline import Pipeline

    from lumen_ext.cache.store import StageStore

__all__ = ["Plan", "Stage", "build_plan", "transform_token"]

PLAN_VERSION = 1  # bump when what a stage computes changes for the same key


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
            key = chain_key(key, "filter", sorted(query.items()))
            plan.stages.append(_filter_stage(query, key))
    transforms = list(pipeline.transforms)
    pushed = plan.pushed
    for filt in pipeline.filters:
        if isinstance(filt, ParamFilter) and filt.value is not None:
            key = chain_key(key, "param_filter", filt.field, filt.value)
            plan.stages.append(Stage(f"param filter {filt.name}", "pandas", key, _param_filter(filt)))
    for i, transform in enumerate(transforms[pushed:], start=pushed):
        try:
            token = transform_token(transform)
        except Unhashable as e:
            plan.notes.append(f"transform {i} ({type(transform).__name__}) uncacheable: {e}")
            token, key = None, None
        key = chain_key(key, "transform", token) if token is not None else None
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
            key = file_scan_stage(pipeline, store, query, freshness, base, plan, not param_filtered)
            if key is not None:
                return key
        # Parse the file once per version and filter the parsed frame; Lumen re-reads the whole file
        # for every new filter combination (sources/base.py:1059-1064).
        if not sql_transforms:
            key = chain_key(base, "read")
            plan.stages.append(Stage(f"read {table}", "source", key, lambda _: raw_get(source, table)))
            if query:
                key = chain_key(key, "filter", sorted(query.items()))
                plan.stages.append(_filter_stage(query, key))
            return key
    else:
        reason = can_push(pipeline, config)
        if reason is None and not param_filtered:
            key = duckdb_query_stage(
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
    key = chain_key(base, "get", sorted(query.items()), tokens)
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
        key = chain_key(base, push.engine, sorted(query.items()), tokens)
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
