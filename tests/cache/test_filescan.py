"""A ``file`` source's Parquet table read through DuckDB returns exactly what Lumen's reader returns."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig, rollup
from lumen_ext.cache.filescan import scan_stats
from lumen_ext.cache.plancache import plan_cache
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data

from .conftest import make_sales
from .helpers import assert_same_data

# duckdb's fetch_df calls DataFrame.drop(inplace=True), deprecated in pandas 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


@pytest.fixture
def scan_cache():
    store = install(CacheConfig(max_bytes=64 * 1024 * 1024, file_scan_min_bytes=0))
    store.clear()
    yield store
    uninstall()


@pytest.fixture
def rich_parquet(tmp_path):
    """Columns whose pandas dtype depends on the whole file, written without pandas metadata, in row groups."""
    n = 400
    rng = np.random.default_rng(3)
    zones = ["Zeta", "alpha", "Mid", "beta"]  # dictionary order, not alphabetical
    table = pa.table(
        {
            "zone": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 3, n), pa.int8()), pa.array(zones)
            ),  # "beta" never occurs
            "label": pa.array([None if i % 37 == 0 else f"l{i % 7}" for i in range(n)]),
            "count": pa.array([None if i % 50 == 7 else int(i % 9) for i in range(n)], pa.int32()),
            "flag": pa.array([None if i % 41 == 0 else bool(i % 2) for i in range(n)]),
            "small": pa.array(rng.integers(-5, 5, n), pa.int8()),
            "value": pa.array(np.where(np.arange(n) % 23 == 0, np.nan, rng.normal(size=n))),
            "at": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(hours=int(h)) for h in rng.integers(0, 900, n)],
                pa.timestamp("us"),
            ),
        }
    )
    path = tmp_path / "rich.parquet"
    pq.write_table(table, path, row_group_size=150)
    return path


def pipeline(path, transforms=(), use_dask=False, filters=("zone", "label", "count")):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    return Pipeline.from_spec(
        {
            "source": FileSource(tables={"t": str(path)}, use_dask=use_dask),
            "table": "t",
            "filters": [{"type": "widget", "field": f} for f in filters],
            "transforms": list(transforms),
        }
    )


def check(path, query, transforms=(), use_dask=False):
    """The scan's result for ``query`` against Lumen's own, dtypes and categories included."""
    p = pipeline(path, transforms, use_dask)
    fresh = pipeline(path, transforms, use_dask)
    for pl in (p, fresh):
        for filt in pl.filters:
            if filt.field in query:
                filt.value = query[filt.field]
    data = p.data
    runs = getattr(p, RUNS_ATTR)
    assert runs[0].where == "sql", runs
    assert_same_data(data, original_compute_data(fresh), exact_dtypes=True)
    return p


QUERIES = [
    {},
    {"zone": ["alpha", "beta"]},  # "beta" is a category no row has
    {"label": ["l1", None]},  # None in the list also matches missing labels
    {"label": [None]},
    {"count": (2, 5)},  # a range on an integer column with nulls (float64 in pandas)
    {"zone": ["Zeta"], "count": (0.0, 3.0)},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q) or "unfiltered")
def test_filtered_rows_keep_lumens_labels_and_dtypes(scan_cache, rich_parquet, query):
    check(rich_parquet, query)


@pytest.mark.parametrize("query", [QUERIES[0], QUERIES[2]], ids=["unfiltered", "label"])
def test_dask_sources_get_dasks_dtypes(scan_cache, rich_parquet, query):
    check(rich_parquet, query, use_dask=True)  # Lumen's default `use_dask: true` (dask's string dtype)


TRANSFORMS = {
    # grouping by a category follows category order, as pandas does, not alphabetical order
    "aggregate by category": [{"type": "aggregate", "by": ["zone"], "method": "sum", "columns": ["small"]}],
    "mean, no index, sorted": [
        {"type": "aggregate", "by": ["zone", "flag"], "method": "mean", "with_index": False},
        {"type": "sort", "by": ["zone", "flag"], "ascending": False},
    ],
    "columns and slice": [
        {"type": "columns", "columns": ["at", "value", "zone"]},
        {"type": "iloc", "start": 3, "end": 40},
    ],
    "sort with NaN, slice": [{"type": "sort", "by": ["value"]}, {"type": "iloc", "end": 25}],
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_pushed_transforms_equal_lumen(scan_cache, rich_parquet, name):
    p = check(rich_parquet, {"label": ["l1", "l2", None]}, TRANSFORMS[name])
    assert "GROUP BY" in p._lumen_ext_runs[0].sql or "aggregate" not in name


@pytest.mark.parametrize(("rollup_max_rows", "queries"), [(0, 3), (100_000, 0)], ids=["table", "rollup cube"])
def test_a_new_filter_value_parses_nothing_and_reuses_the_compiled_query(
    request, rich_parquet, rollup_max_rows, queries
):
    # With a rollup cube (lumen_ext.cache.rollup), the first computation grouped the file by the filter fields
    # too, so a new selection is answered from that cube without reading the file at all.
    from lumen.sources.base import FileSource

    install(CacheConfig(max_bytes=64 * 1024 * 1024, file_scan_min_bytes=0, rollup_max_rows=rollup_max_rows))
    request.addfinalizer(uninstall)
    p = pipeline(rich_parquet, TRANSFORMS["aggregate by category"])
    _ = p.data
    assert rollup.wait_for_builds()
    loads, original = [], FileSource._load_table
    FileSource._load_table = lambda self, *a, **k: loads.append(a) or original(self, *a, **k)
    try:
        before_queries, before_plans = scan_stats()["queries"], plan_cache.stats()
        answers = []
        for value in (["alpha"], ["Mid"], ["Zeta", "alpha"]):
            p.filters[0].value = value
            assert f"IN ({', '.join(repr(v) for v in value)})" in p._lumen_ext_runs[0].sql
            answers.append((value, p.data))
    finally:
        FileSource._load_table = original
    assert loads == []  # Lumen's reader never ran: no parse of the file
    assert scan_stats()["queries"] - before_queries == queries
    for value, data in answers:
        p.filters[0].value = value
        assert_same_data(data, original_compute_data(p), exact_dtypes=True)
    plans = plan_cache.stats()
    assert plans["misses"] == before_plans["misses"] and plans["hits"] >= before_plans["hits"] + 3


def test_editing_the_file_reopens_it(scan_cache, rich_parquet):
    p = pipeline(rich_parquet, filters=("zone",))
    p.filters[0].value = ["alpha", "Mid"]
    first = p.data
    pq.write_table(pq.read_table(rich_parquet).slice(0, 10), rich_parquet)
    p.filters[0].param.trigger("value")
    assert len(p.data) == (pq.read_table(rich_parquet)["zone"].to_pandas() != "Zeta").sum() < len(first)


@pytest.mark.parametrize(
    "case",
    ["csv without copies", "small file", "date filter", "time zone", "reader kwargs"],
)
def test_what_stays_on_lumens_reader(tmp_path, rich_parquet, case):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    min_bytes = 0 if case != "small file" else 10**9
    install(CacheConfig(file_scan_min_bytes=min_bytes, csv_copies=case != "csv without copies")).clear()
    try:
        path, kwargs, query = rich_parquet, {}, {}
        if case == "csv without copies":  # CSV is scanned through a Parquet copy (test_csv_copies.py)
            path = tmp_path / "sales.csv"
            make_sales().to_csv(path, index=False)
            field = "region"
        elif case == "time zone":  # pandas and DuckDB convert zoned timestamps differently
            path = tmp_path / "tz.parquet"
            at = pd.date_range("2024-01-01", periods=50, freq="h", tz="Europe/Paris")
            pd.DataFrame({"zone": ["a", "b"] * 25, "at": at}).to_parquet(path)
            field = "zone"
        else:
            field = {"date filter": "at"}.get(case, "zone")
            query = {"date filter": (dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 9))}.get(case, {})
            if case == "reader kwargs":
                kwargs = {"columns": ["zone", "small"]}
        spec = {"source": FileSource(tables={"t": str(path)}, use_dask=False, kwargs=kwargs), "table": "t"}
        p = Pipeline.from_spec(dict(spec, filters=[{"type": "widget", "field": field}]))
        if query:
            p.filters[0].value = query
        fresh = Pipeline.from_spec(dict(spec, filters=[{"type": "widget", "field": field}]))
        if query:
            fresh.filters[0].value = query
        data = p.data
        assert getattr(p, RUNS_ATTR)[0].name == "read t"
        assert_same_data(data, original_compute_data(fresh), exact_dtypes=True)
    finally:
        uninstall()


def test_the_connection_reads_only_its_file(scan_cache, rich_parquet, tmp_path):
    from lumen_ext.cache.filescan import _scans

    _ = pipeline(rich_parquet).data
    (scan,) = [s for s in _scans.values() if s.path == str(rich_parquet)]
    other = tmp_path / "other.csv"
    other.write_text("a\n1\n")
    with pytest.raises(duckdb.PermissionException):
        scan.connection.sql(f"SELECT * FROM read_csv('{other}')").fetchall()
    with pytest.raises(duckdb.Error):
        scan.connection.execute("SET enable_external_access = true")


def test_a_file_outside_the_project_is_refused_when_hardened(tmp_path, rich_parquet):
    from lumen_ext.security.policy import Policy
    from lumen_ext.security.runtime import PolicyViolation, harden, restore

    project = tmp_path / "project"
    project.mkdir()
    install(CacheConfig(file_scan_min_bytes=0)).clear()
    harden(Policy(project_root=project))
    try:
        with pytest.raises(PolicyViolation, match="outside the project"):
            _ = pipeline(rich_parquet).data
    finally:
        restore()
        uninstall()
