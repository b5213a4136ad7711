"""Stage reuse, sharing and invalidation on real Lumen pipelines and a real dashboard."""

from __future__ import annotations

import os
import textwrap

import pandas as pd
import pytest
from support.stage_cache import install, uninstall

from lumen_ext import hooks
from lumen_ext.cache import CacheConfig
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data

from .conftest import make_sales
from .helpers import assert_same_data

# duckdb's fetch_df and bokeh/panel call DataFrame methods with inplace=, deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

TRANSFORMS = [
    {"type": "aggregate", "by": ["region", "product"], "method": "sum"},
    {"type": "sort", "by": ["product", "region"]},
]


def outcomes(pipeline) -> list[tuple[str, str]]:
    _ = pipeline.data  # Pipeline.data computes on first access
    return [(r.name, r.outcome) for r in getattr(pipeline, RUNS_ATTR)]


def file_pipeline(path, transforms=TRANSFORMS):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    source = FileSource(tables={"sales": str(path)})
    spec = {"source": source, "table": "sales", "filters": [{"type": "widget", "field": "region"}]}
    return Pipeline.from_spec(dict(spec, transforms=transforms))


def test_only_changed_stages_and_those_below_rerun(cache, sales_files):
    p = file_pipeline(sales_files["parquet"])
    assert [o for _, o in outcomes(p)] == ["computed"] * 4
    p.filters[0].value = ["E"]  # the parsed file is reused; filter and transforms run
    assert outcomes(p) == [
        ("read sales", "hit"),
        ("filter", "computed"),
        ("transform[0] aggregate", "computed"),
        ("transform[1] sort", "computed"),
    ]
    p.transforms[1].ascending = False  # a downstream option: the aggregate is not recomputed
    assert outcomes(p)[-2:] == [("transform[0] aggregate", "hit"), ("transform[1] sort", "computed")]
    assert_same_data(p.data, original_compute_data(p))
    p.transforms[1].ascending = True  # seen before: one lookup, nothing runs
    assert [o for _, o in outcomes(p)] == ["skipped", "skipped", "skipped", "hit"]
    assert_same_data(p.data, original_compute_data(p))


def test_results_are_shared_across_sessions(cache, sales_files):
    first = file_pipeline(sales_files["parquet"])
    first.filters[0].value = ["W", "N"]
    second = file_pipeline(sales_files["parquet"])  # a new session: new Source and Pipeline objects
    second.filters[0].value = ["W", "N"]
    assert outcomes(second)[-1] == ("transform[1] sort", "hit")
    assert_same_data(second.data, first.data)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_editing_the_data_file_invalidates(cache, sales_files, kind):
    path = sales_files[kind]
    p = file_pipeline(path)
    p.filters[0].value = ["E"]
    before = p.data
    edited = make_sales(seed=99)
    edited.to_parquet(path) if kind == "parquet" else edited.to_csv(path, index=False)
    p.filters[0].value = ["W"]
    assert outcomes(p)[0] == ("read sales", "computed")  # the new file version is parsed once
    p.filters[0].value = ["E"]  # cached before the edit, but under the old fingerprint
    assert [o for _, o in outcomes(p)[1:]] == ["computed"] * 3
    fresh = file_pipeline(path)  # new objects, so nothing of Lumen's own source cache is reused
    fresh.filters[0].value = ["E"]
    assert_same_data(p.data, original_compute_data(fresh))
    assert not p.data.equals(before)


def test_same_size_same_mtime_edit_of_a_small_file_is_seen(cache, sales_files):
    path = sales_files["csv"]
    p = file_pipeline(path, transforms=[])
    text = path.read_text()
    stat = os.stat(path)
    path.write_text(text.replace("apple", "APPLE"))  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    p.filters[0].value = ["E"]
    assert "APPLE" in set(p.data["product"])


def test_duckdb_source_is_invalidated_by_an_edit_of_the_file_it_reads(cache, sales_files):
    from lumen.pipeline import Pipeline
    from lumen.sources.duckdb import DuckDBSource

    path = sales_files["parquet"]

    def build():
        source = DuckDBSource(tables={"sales": f"read_parquet('{path}')"})
        spec = {"source": source, "table": "sales", "filters": [{"type": "widget", "field": "region"}]}
        return Pipeline.from_spec(dict(spec, transforms=TRANSFORMS))

    p = build()
    p.filters[0].value = ["E"]
    make_sales(seed=3).to_parquet(path)
    p.filters[0].value = ["W"]
    p.filters[0].value = ["E"]
    assert outcomes(p)[0] == ("source query", "computed")
    fresh = build()
    fresh.filters[0].value = ["E"]
    assert_same_data(p.data, original_compute_data(fresh))


def test_chained_pipelines_follow_their_parent(cache, sales_files):
    from lumen.pipeline import Pipeline
    from lumen.state import state

    parent = file_pipeline(sales_files["parquet"], transforms=[])
    state.pipelines["parent"] = parent  # `pipeline: parent` is resolved by name, as in a spec
    child = Pipeline.from_spec(
        {
            "pipeline": "parent",
            "filters": [{"type": "widget", "field": "product"}],
            "transforms": [{"type": "aggregate", "by": ["region"], "method": "mean"}],
        }
    )
    child.filters[0].value = ["apple", "date"]
    parent.filters[0].value = ["E", "S"]
    # the parent's data was just stored under the key the child looks up; its own stages run
    assert outcomes(child) == [
        ("parent data", "hit"),
        ("filter", "computed"),
        ("transform[0] aggregate", "computed"),
    ]
    expected = original_compute_data(child)
    assert_same_data(child.data, expected)
    state.pipelines.pop("parent")
    parent.filters[0].value = ["W"]
    parent.filters[0].value = ["E", "S"]
    assert outcomes(child)[-1] == ("transform[0] aggregate", "hit")
    assert_same_data(child.data, expected)


def test_install_is_idempotent_and_uninstall_restores_lumen():
    from lumen.pipeline import Pipeline

    original = Pipeline._compute_data
    store = install()
    assert install() is store and hooks.is_enabled("cache.compute")
    assert Pipeline._compute_data is not original
    assert install(CacheConfig(max_bytes=1024)) is not store  # a new config replaces the store
    uninstall()
    assert Pipeline._compute_data is original and not hooks.is_enabled("cache.compute")


SPEC = """
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
pipelines:
  main:
    source: sales
    table: sales
    filters:
      - type: widget
        field: region
    transforms:
      - type: aggregate
        by: [region, product]
        method: sum
        with_index: false
  top:
    pipeline: main
    transforms:
      - type: sort
        by: [qty]
        ascending: false
layouts:
  - title: Sales
    views:
      - type: table
        pipeline: top
      - type: table
        pipeline: main
        page_size: 5
"""


def test_dashboard_built_from_yaml_reuses_stages(cache, sales_files):
    from lumen.dashboard import Dashboard
    from lumen.state import state

    spec = sales_files["csv"].parent / "sales.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    Dashboard(str(spec))
    main, top = state.pipelines["main"], state.pipelines["top"]
    widget = main.filters[0]
    widget.value = ["E"]
    widget.value = ["N"]
    assert outcomes(main)[0] == ("read sales", "hit")  # the CSV is parsed once, not per filter value
    first = top.data
    widget.value = ["E"]
    widget.value = ["N"]  # both seen before: served from the cache end to end
    assert outcomes(main)[-1] == ("transform[0] aggregate", "hit")
    assert outcomes(top)[-1] == ("transform[0] sort", "hit")
    pd.testing.assert_frame_equal(top.data, first)
    assert_same_data(top.data, original_compute_data(top), sort_keys=["qty"])
    stats = cache.stats()["memory"]
    assert stats["hits"] >= 3 and stats["entries"] >= 5


@pytest.mark.parametrize(
    ("table", "initializers", "windowed"),
    [
        ("SELECT * FROM read_parquet('{path}')", [], False),
        ("SELECT * FROM read_parquet('{path}')", ["SET threads = 1"], False),
        # the clock, a table made elsewhere, a URL: what the fingerprint cannot see keeps the time window
        ("SELECT *, now() AS seen FROM read_parquet('{path}')", [], True),
        ("SELECT * FROM read_parquet('{path}')", ["CREATE TABLE extra AS SELECT 1 AS x"], True),
        ("SELECT * FROM extra", [], True),
        ("SELECT * FROM read_parquet('https://example.org/sales.parquet')", [], True),
    ],
    ids=["files", "harmless initializer", "clock", "created table", "no file", "url"],
)
def test_a_duckdb_database_of_local_files_needs_no_time_window(sales_files, table, initializers, windowed):
    from lumen.sources.duckdb import DuckDBSource

    from lumen_ext.cache.fingerprint import source_freshness, source_ttl

    config = CacheConfig(sql_ttl=300.0)
    source = DuckDBSource(
        tables={"sales": table.format(path=sales_files["parquet"])}, initializers=initializers
    )
    assert source_ttl(source, config) == (300.0 if windowed else None)
    assert (source_freshness(source, "sales", config)[-1] is None) is not windowed
