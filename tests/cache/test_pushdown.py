"""SQL pushdown on DuckDB sources returns what Lumen's pandas path returns."""

from __future__ import annotations

import pytest

from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data
from lumen_ext.cache.stages import build_plan

from .helpers import assert_same_data

# duckdb's fetch_df calls DataFrame.drop(inplace=True), deprecated in pandas 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

AGG = {"type": "aggregate", "by": ["region", "product"]}

CASES = [
    # (transforms, expected number pushed into SQL, sort keys of the result or None)
    ([dict(AGG, method="sum")], 1, None),
    # a trailing sort stays in pandas (1 pushed), so flipping it does not re-run the query
    (
        [dict(AGG, method="mean", with_index=False), {"type": "sort", "by": ["price"], "ascending": False}],
        1,
        ["price"],
    ),
    (
        [
            dict(AGG, method="max"),
            {"type": "sort", "by": ["qty", "price"], "ascending": [True, False]},
            {"type": "iloc", "end": 3},
        ],
        3,
        None,
    ),
    (
        [{"type": "aggregate", "by": ["region"], "method": "count"}, {"type": "sort", "by": ["region"]}],
        1,
        ["region"],
    ),
    (
        [
            {"type": "aggregate", "by": ["region"], "method": "count"},
            {"type": "sort", "by": ["region"], "ascending": False},
            {"type": "iloc", "end": 2},
        ],
        3,
        None,
    ),
    ([dict(AGG, method="median", columns=["price"]), {"type": "iloc", "end": 5}], 2, None),
    ([dict(AGG, method="std")], 1, None),
    ([dict(AGG, method="var"), {"type": "columns", "columns": ["qty"]}], 2, None),
    # unique sort keys before a slice: with ties, which rows pandas' unstable sort keeps is arbitrary
    (
        [
            dict(AGG, method="min", with_index=False),
            {"type": "sort", "by": ["product", "region"], "ascending": False},
            {"type": "iloc", "start": 2, "end": 9},
        ],
        3,
        None,
    ),
    (
        [{"type": "columns", "columns": ["product", "price"]}, {"type": "iloc", "start": 3, "end": 40}],
        2,
        None,
    ),
    (
        [{"type": "iloc", "end": 25}, {"type": "sort", "by": ["price"]}],
        1,
        ["price"],
    ),  # raw-row sort stays in pandas
    ([{"type": "sort", "by": ["price"]}], 0, ["price"]),
    ([dict(AGG, method="first")], 0, None),  # order-dependent: pandas only
    ([{"type": "query", "query": "qty > 3"}, dict(AGG, method="sum")], 0, None),
]


def _pipeline(source, transforms, regions):
    from lumen.pipeline import Pipeline

    p = Pipeline.from_spec(
        {
            "source": source,
            "table": "sales",
            "filters": [{"type": "widget", "field": "region"}],
            "transforms": transforms,
        }
    )
    p.filters[0].value = regions
    return p


@pytest.mark.parametrize("regions", [[], ["E", "W"]], ids=["unfiltered", "filtered"])
@pytest.mark.parametrize(
    ("transforms", "pushed", "sort_keys"), CASES, ids=[str(i) for i in range(len(CASES))]
)
def test_pushed_plan_equals_lumen(cache, sales_files, transforms, pushed, sort_keys, regions):
    from lumen.sources.duckdb import DuckDBSource

    source = DuckDBSource(tables={"sales": f"read_parquet('{sales_files['parquet']}')"})
    p = _pipeline(source, transforms, regions)
    plan = build_plan(p, cache)
    assert plan.pushed == pushed, plan.notes
    _ = p.data  # computed on first access
    assert getattr(p, RUNS_ATTR)[0].where == "sql"
    assert_same_data(p.data, original_compute_data(p), sort_keys)


def test_pushdown_can_be_turned_off(sales_files):
    from lumen.sources.duckdb import DuckDBSource
    from support.stage_cache import install, uninstall

    from lumen_ext.cache import CacheConfig

    store = install(CacheConfig(pushdown=False))
    try:
        source = DuckDBSource(tables={"sales": f"read_parquet('{sales_files['parquet']}')"})
        p = _pipeline(source, [dict(AGG, method="sum")], ["E"])
        assert build_plan(p, store).pushed == 0
        _ = p.data
        assert [r.where for r in getattr(p, RUNS_ATTR)] == ["source", "pandas"]
        assert_same_data(p.data, original_compute_data(p))
    finally:
        uninstall()


def test_a_revisited_filter_state_reuses_its_rendered_query(cache, sales_files):
    from lumen.sources.duckdb import DuckDBSource

    from lumen_ext.cache.plancache import rendered_sql
    from lumen_ext.cache.sql_chain import sql_chain

    source = DuckDBSource(tables={"sales": f"read_parquet('{sales_files['parquet']}')"})
    p = _pipeline(source, [dict(AGG, method="sum")], ["E"])
    first = build_plan(p, cache)
    p.filters[0].value = ["W"]
    build_plan(p, cache)
    before = rendered_sql.stats()
    p.filters[0].value = ["E"]
    again = build_plan(p, cache)
    after = rendered_sql.stats()
    assert after["misses"] == before["misses"] and after["hits"] > before["hits"]  # no SQLFilter, no sqlglot
    assert again.final_key == first.final_key
    # A list is a set of categories and a tuple a range to Lumen: never the same rendered text.
    assert sql_chain("SELECT * FROM t", [("x", [1, 5])], []) != sql_chain(
        "SELECT * FROM t", [("x", (1, 5))], []
    )
