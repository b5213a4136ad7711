"""Filter states answered from a rollup cube equal Lumen's own results, and cost no read of the table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig, rollup
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data
from lumen_ext.cache.stages import build_plan

from .conftest import make_sales
from .helpers import assert_same_data

# duckdb's fetch_df calls DataFrame.drop(inplace=True), deprecated in pandas 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


@pytest.fixture
def sales_parquet(tmp_path):
    df = make_sales(rows=500, seed=11)
    rng = np.random.default_rng(5)
    df["day"] = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 6, len(df))]
    df["stock"] = pd.array(rng.integers(-5, 40, len(df)), dtype="Int64")
    df.loc[::9, "stock"] = pd.NA  # an integer column with missing values
    df["big"] = np.int64(2**40)  # partial sums of int64 must stay exact integers
    path = tmp_path / "sales.parquet"
    df.to_parquet(path)
    return path


class Reads:
    """Counts the table queries of DuckDB sources (the cube's own query included)."""

    def __init__(self, monkeypatch):
        from lumen.sources.duckdb import DuckDBSource

        self.count, original = 0, DuckDBSource.fetch

        def fetch(source, *args, **kwargs):
            self.count += 1
            return original(source, *args, **kwargs)

        monkeypatch.setattr(DuckDBSource, "fetch", fetch)


def pipeline(path, aggregate, filters=("region", "day")):
    from lumen.pipeline import Pipeline
    from lumen.sources.duckdb import DuckDBSource

    return Pipeline.from_spec(
        {
            "source": DuckDBSource(tables={"sales": f"read_parquet('{path}')"}),
            "table": "sales",
            "filters": [{"type": "widget", "field": f} for f in filters],
            "transforms": [{"type": "aggregate", "by": ["product"], **aggregate}],
        }
    )


@pytest.fixture
def cache(request):
    config = CacheConfig(max_bytes=64 * 1024 * 1024, **getattr(request, "param", {}))
    store = install(config)
    store.clear()
    yield store
    uninstall()


ALL_DAYS = (dt.date(2024, 1, 1), dt.date(2024, 1, 6))
STATES = [
    {},
    {"region": ["E", "W"]},
    {"region": ["N"], "day": (dt.date(2024, 1, 2), dt.date(2024, 1, 4))},
    {"day": (dt.date(2024, 1, 3), dt.date(2024, 1, 3))},
    {"region": ["S", "E"]},
]


@pytest.mark.parametrize(
    "aggregate",
    [
        {"method": "sum"},
        {"method": "mean"},
        {"method": "count"},
        {"method": "min", "columns": ["stock", "price"]},
        {"method": "max", "with_index": False},
    ],
    ids=lambda a: a["method"],
)
def test_every_state_equals_lumen_and_reads_the_table_once(cache, sales_parquet, monkeypatch, aggregate):
    reads = Reads(monkeypatch)
    p = pipeline(sales_parquet, aggregate)
    plan = build_plan(p, cache)
    assert "answered from a rollup cube by region, day" in plan.stages[0].detail, plan.notes
    _ = p.data  # answered by the table, while the cube is built in the background
    assert rollup.wait_for_builds()
    answers = []
    for state in STATES:
        for filt in p.filters:
            filt.value = state.get(filt.field, [] if filt.field == "region" else ALL_DAYS)
        assert getattr(p, RUNS_ATTR)[0].where == "sql"
        answers.append(p.data)
    assert reads.count == 2  # the first state's query and the cube's: every later state came from the cube
    for state, data in zip(STATES, answers, strict=True):
        for filt in p.filters:
            filt.value = state.get(filt.field, [] if filt.field == "region" else ALL_DAYS)
        assert_same_data(data, original_compute_data(p))


def test_another_session_answers_new_states_from_the_cube(cache, sales_parquet, monkeypatch):
    first = pipeline(sales_parquet, {"method": "sum"})
    _ = first.data
    assert rollup.wait_for_builds()
    reads = Reads(monkeypatch)
    other = pipeline(sales_parquet, {"method": "sum"})  # a new session's Source and Pipeline
    other.filters[0].value = ["W"]
    assert reads.count == 0
    assert_same_data(other.data, original_compute_data(other))


@pytest.mark.parametrize("cache", [{"rollup_max_rows": 10}], indirect=True)
def test_a_cube_too_big_is_refused_once(cache, sales_parquet, monkeypatch):
    reads = Reads(monkeypatch)
    p = pipeline(sales_parquet, {"method": "sum"})
    _ = p.data  # 4 products x 5 regions x 6 days: more than 10 groups
    assert rollup.wait_for_builds()
    assert reads.count == 2  # the table query, then the cube query, stopped at 11 rows
    assert any("more than 10 rows" in reason for reason in rollup.refusals().values())
    p.filters[0].value = ["E"]
    assert reads.count == 3  # later states query the table directly
    assert "no rollup cube: the cube has more than 10 rows" in build_plan(p, cache).notes
    assert_same_data(p.data, original_compute_data(p))


@pytest.mark.parametrize(
    ("aggregate", "filters", "reason"),
    [
        ({"method": "median"}, ("region",), "not a sum, count, min, max or mean"),
        ({"method": "sum"}, ("product",), "no filter field to roll up"),
        ({"method": "sum"}, ("price",), "too many distinct values"),
    ],
    ids=["median", "filter on a key", "float filter"],
)
def test_pipelines_without_a_cube_say_why(cache, sales_parquet, aggregate, filters, reason):
    p = pipeline(sales_parquet, aggregate, filters)
    plan = build_plan(p, cache)
    assert any(note.startswith("no rollup cube") and reason in note for note in plan.notes), plan.notes
    assert_same_data(p.data, original_compute_data(p))


@pytest.mark.parametrize("cache", [{"rollup_max_rows": 0}], indirect=True)
def test_cubes_can_be_turned_off(cache, sales_parquet):
    plan = build_plan(pipeline(sales_parquet, {"method": "sum"}), cache)
    assert "no rollup cube: rollup cubes are off" in plan.notes


def test_a_state_answered_from_the_cube_in_memory_shows_no_spinner(cache, sales_parquet):
    p = pipeline(sales_parquet, {"method": "sum"}, filters=("region",))
    seen: list[bool] = []
    p._update_widget.param.watch(lambda event: seen.append(event.new), "loading")
    p.filters[0].value = [
        "E"
    ]  # the first computation reads the table (and starts the cube): the spinner shows
    assert seen == [True, False]
    assert rollup.wait_for_builds()
    seen.clear()
    p.filters[0].value = ["W", "N"]  # a new state, computed from the cube in memory: no spinner
    assert seen == []
    assert getattr(p, RUNS_ATTR)[0].outcome == "computed"
    assert_same_data(p.data, original_compute_data(p))


def sql_pipeline(path, sql_transforms, filters=("region", "day")):
    from lumen.pipeline import Pipeline
    from lumen.sources.duckdb import DuckDBSource

    return Pipeline.from_spec(
        {
            "source": DuckDBSource(tables={"sales": f"SELECT * FROM read_parquet('{path}')"}),
            "table": "sales",
            "filters": [{"type": "widget", "field": f} for f in filters],
            "sql_transforms": sql_transforms,
        }
    )


SQL_GROUP_BYS = {
    "sum, avg": {"SUM": ["qty", "stock", "big"], "AVG": ["price"]},
    "count, min, max": {"COUNT": "price", "MIN": ["stock"], "max": ["qty", "big"]},
}


@pytest.mark.parametrize("aggregates", SQL_GROUP_BYS.values(), ids=SQL_GROUP_BYS)
def test_sql_group_by_states_equal_lumen_and_read_the_table_once(
    cache, sales_parquet, monkeypatch, aggregates
):
    # SQL's own semantics: NaN prices are values, the missing region is a group of its own.
    reads = Reads(monkeypatch)
    p = sql_pipeline(
        sales_parquet,
        [
            {"type": "sql_group_by", "by": ["region", "product"], "aggregates": aggregates},
            {"type": "sql_sort", "by": ["product", "region"]},
            {"type": "sql_limit", "limit": 11},
        ],
        filters=("day", "product"),
    )
    assert "answered from a rollup cube by day" in build_plan(p, cache).stages[0].detail
    _ = p.data
    assert rollup.wait_for_builds()
    answers = []
    for day, products in [(ALL_DAYS, []), ((dt.date(2024, 1, 2), dt.date(2024, 1, 3)), ["apple", "date"])]:
        p.filters[0].value, p.filters[1].value = day, products
        answers.append((day, products, p.data))
    assert reads.count == 2
    for day, products, data in answers:
        p.filters[0].value, p.filters[1].value = day, products
        expected = original_compute_data(p)
        assert expected["region"].isna().any() or products
        pd.testing.assert_frame_equal(data, expected)


def test_a_forked_server_process_builds_its_own_cubes():
    # `serve --num-procs` forks: the child must not inherit an executor whose thread stayed in the parent.
    import os

    assert rollup._builder.submit(lambda: "parent").result(timeout=10) == "parent"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, rollup._builder.submit(lambda: b"child").result(timeout=10))
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 16) == b"child" and status == 0
