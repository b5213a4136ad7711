"""The source-query stage answered from a rollup cube (:mod:`lumen_ext.cache.rollup`) when the pipeline has one:
whether it has one, what the cube is built over, and the stage that reads it or falls back to the direct query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lumen_ext.cache.config import CacheConfig
from lumen_ext.cache.plancache import BASE
from lumen_ext.cache.pushdown import ROWID, PushdownPlan
from lumen_ext.cache.rollup import CubeSource, Rollup, compile_rollup, compile_sql_rollup, is_refused
from lumen_ext.cache.rollup import answer as answer_from_cube
from lumen_ext.cache.sql_chain import apply_sql
from lumen_ext.cache.stage_plan import Plan, Stage, chain_key

if TYPE_CHECKING:
    from lumen.pipeline import Pipeline

    from lumen_ext.cache.store import StageStore

__all__ = ["CubeInputs", "filter_fields", "source_query_stage", "try_rollup"]


def filter_fields(pipeline: Pipeline) -> tuple[str, ...]:
    """The columns the pipeline's filters can ever constrain in the source query (a cube's dimensions).

    A crossfilter brush (:class:`lumen_ext.views.crossfilter.BrushFilter`, ``dimension_when_set``) counts only while
    it is set: a view brushed on a float column (a map's longitude) must not cost every other brush its cube, and a
    cube per set of active brushes is what Mosaic's indexes are too.
    """
    from lumen.filters.base import ParamFilter

    fields = [
        f.field
        for f in pipeline.filters
        if not isinstance(f, ParamFilter)
        and f.field
        and (f.table is None or f.table == pipeline.table)
        and not (getattr(f, "dimension_when_set", False) and f.query is None)
    ]
    return tuple(dict.fromkeys(fields))


@dataclass(frozen=True)
class CubeInputs:
    """What a rollup cube is built over, and how the direct query reads it."""

    sql: str  # the unfiltered source query
    types: dict[str, str]  # its columns
    # The unfiltered query the pushed transforms read: the source query and the SQL transforms.
    projected: str
    types_of: Callable[[str], dict[str, str]]
    ordered: bool  # DuckDB preserves insertion order
    rest: tuple = ()  # the SQL transforms after a rolled-up ``sql_group_by`` (a projection included)
    collations: dict[str, str] | None = None


def try_rollup(
    pipeline: Pipeline, config: CacheConfig, push: PushdownPlan, dims: tuple[str, ...], over: CubeInputs
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
            grouped = push.sql.replace(BASE, apply_sql(grouped, over.rest), 1)
        direct = push.sql.replace(BASE, over.projected, 1)
        if list(over.types_of(grouped).items()) != list(over.types_of(direct).items()):
            return "the rollup's columns or types differ from the table query's"
        return rollup
    except Exception as e:  # ValueError: no cube for this pipeline; a binding error: its SQL is invalid here
        return str(e)


def source_query_stage(
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
    cube_key = chain_key(base, "cube", rollup.cube_sql)
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
