"""Pipelines on a `dask` source compute on a real cluster and give what Lumen's pandas path and DuckDB give."""

from __future__ import annotations

import pandas as pd
import pytest
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig, StageStore
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data

# duckdb's fetch_df and panel call DataFrame methods with inplace=, deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

BOROUGHS = ["Manhattan", "Queens"]

PIPELINES = {
    "aggregate_sort": [
        {"type": "aggregate", "by": ["pickup_zone"], "columns": ["fare_usd", "tip_usd"], "method": "sum",
         "with_index": False},
        {"type": "sort", "by": ["fare_usd"], "ascending": False},
    ],
    "indexed_mean_sort": [
        {"type": "aggregate", "by": ["service", "payment"], "columns": ["fare_usd"], "method": "mean"},
        {"type": "sort", "by": ["fare_usd"]},
    ],
    "rows": [
        {"type": "lumen.transforms.base.Filter", "conditions": [["fare_usd", [20.0, 30.0]]]},
        {"type": "columns", "columns": ["trip_id", "pickup_zone", "payment", "fare_usd"]},
    ],
}  # fmt: skip

# Dask splits each file into several partitions here (row groups, CSV blocks): the combine step is exercised.
READ_KWARGS = {"parquet": {"split_row_groups": True}, "csv": {"blocksize": 2_000_000}}


@pytest.fixture
def cache():
    store = install(CacheConfig(max_bytes=64 * 1024 * 1024, pushdown=True))
    store.clear()
    yield store
    uninstall()


def pipeline(source, transforms, boroughs=BOROUGHS):
    from lumen.pipeline import Pipeline

    spec = {
        "source": source,
        "table": "rides",
        "filters": [{"type": "widget", "field": "pickup_borough"}],
        "transforms": transforms,
    }
    p = Pipeline.from_spec(spec)
    p.filters[0].value = boroughs
    return p


def dask_source(path, kind):
    from lumen_ext.sources.dask import DaskSource

    return DaskSource(tables={"rides": str(path)}, kwargs=READ_KWARGS[kind])


def pandas_source(path):
    from lumen.sources.base import FileSource

    return FileSource(tables={"rides": str(path)}, use_dask=False)


def duckdb_source(path):
    from lumen.sources.duckdb import DuckDBSource

    return DuckDBSource(uri=":memory:", tables={"rides": f"SELECT * FROM read_parquet('{path}')"})


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Group keys as columns and categories as plain text (DuckDB has neither); unnamed row labels dropped
    (they number rows in the order each engine produced them before the sort)."""
    out = df.reset_index(drop=list(df.index.names) == [None])
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
    return out


def runs(p) -> list[tuple[str, str]]:
    _ = p.data
    return [(r.name, r.outcome) for r in getattr(p, RUNS_ATTR)]


CASES = [("parquet", name) for name in PIPELINES] + [("csv", "aggregate_sort"), ("csv", "rows")]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{kind}-{name}" for kind, name in CASES])
def test_dask_equals_pandas_and_duckdb(on_cluster, cache, rides_files, kind, name):
    transforms = PIPELINES[name]
    expected = original_compute_data(pipeline(pandas_source(rides_files[kind]), transforms))
    assert len(expected) > 0

    on_dask = pipeline(dask_source(rides_files[kind], kind), transforms)
    cached = on_dask.data  # through the stage cache: one Dask stage, then the sort in pandas
    plain = original_compute_data(on_dask)  # Lumen's own path: filters on Dask, transforms in pandas
    if name == "rows":
        # Row labels are renumbered (Dask numbers each partition from 0): compare the rows themselves.
        expected, cached, plain = (df.reset_index(drop=True) for df in (expected, cached, plain))
    pd.testing.assert_frame_equal(cached, expected)
    pd.testing.assert_frame_equal(plain, expected)

    if kind == "parquet":
        in_duckdb = pipeline(duckdb_source(rides_files[kind]), transforms).data  # pushed into DuckDB's SQL
        pd.testing.assert_frame_equal(comparable(cached), comparable(in_duckdb), check_dtype=False)


def test_one_dask_stage_then_pandas_over_the_small_result(on_cluster, cache, rides_files):
    p = pipeline(dask_source(rides_files["parquet"], "parquet"), PIPELINES["aggregate_sort"])
    assert runs(p) == [("dask rides", "computed"), ("transform[1] sort", "computed")]
    p.transforms[1].ascending = True  # re-sorts the cached aggregate: nothing is sent to the cluster
    assert runs(p) == [("dask rides", "hit"), ("transform[1] sort", "computed")]
    p.filters[0].value = ["Bronx"]  # a new filter value: one new Dask computation
    assert runs(p) == [("dask rides", "computed"), ("transform[1] sort", "computed")]

    # Another session (new source and pipeline objects) sorting the other way: the cluster is not asked again.
    again = pipeline(dask_source(rides_files["parquet"], "parquet"), PIPELINES["aggregate_sort"], ["Bronx"])
    assert runs(again) == [("dask rides", "hit"), ("transform[1] sort", "computed")]


def test_plan_says_what_runs_on_dask(on_cluster, rides_files):
    from lumen.transforms.base import Iloc, Sort

    from lumen_ext.cache.stages import build_plan

    p = pipeline(dask_source(rides_files["parquet"], "parquet"), PIPELINES["aggregate_sort"])
    p.transforms.append(Iloc(end=5))
    plan = build_plan(p, StageStore(CacheConfig()))
    assert [s.name for s in plan.stages] == ["dask rides", "transform[1] sort", "transform[2] iloc"]
    assert plan.pushed == 1
    assert "aggregate as one Dask graph on the Dask scheduler at tcp://127.0.0.1:" in plan.stages[0].detail
    assert any("Sort" in note and "run in pandas" in note for note in plan.notes), plan.notes
    assert isinstance(p.transforms[1], Sort)


def test_work_runs_on_the_configured_cluster(on_cluster, dask_cluster, rides_files):
    from distributed import get_task_stream

    from lumen_ext.sources import cluster

    client = cluster.scheduler()
    assert client.scheduler.address == dask_cluster.scheduler_address
    with get_task_stream(client) as stream:
        frame = dask_source(rides_files["parquet"], "parquet").get("rides", pickup_borough="Bronx")
    assert set(frame["pickup_borough"]) == {"Bronx"}
    assert len(stream.data) >= 3, "expected one task per row group on the cluster's worker"
    workers = {task["worker"] for task in stream.data}
    assert workers == set(dask_cluster.scheduler.workers)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_schema_equals_lumens(on_cluster, rides_files, kind):
    # What widgets are built from: ranges, categories (from the Parquet footer and dictionaries when possible).
    schema = dask_source(rides_files[kind], kind).get_schema("rides")
    expected = pandas_source(rides_files[kind]).get_schema("rides")
    assert schema.keys() == expected.keys()
    for column, entry in expected.items():
        if "enum" in entry and kind == "csv":  # text columns: the same values, in partition order
            assert sorted(schema[column]["enum"]) == sorted(entry["enum"]), column
            continue
        assert schema[column] == entry, column
