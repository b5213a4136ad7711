"""Crossfilter in-process: what a gesture selects on each kind of axis, and a group's brushes as SQL filters.

The browser test (tests/ui/test_crossfilter.py) drives the whole path with the mouse; these check the pieces it
relies on without a server: the mapping from Bokeh axis coordinates to column values, and a group of real Lumen
views over a real DuckDB source, brushed through :class:`~lumen_ext.views.crossfilter.Group`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from lumen_ext.views import crossfilter
from lumen_ext.views.brush_values import axis_value, covered_factors
from lumen_ext.views.crossfilter import Group, brush_fields, brush_kind

# duckdb's fetch_df calls DataFrame.drop(inplace=True), deprecated in pandas 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


def test_brush_kind_comes_from_hvplot_tools():
    assert brush_kind(["hover", "xbox_select"]) == "x"
    assert brush_kind("box_select") == "xy"
    assert brush_kind(["tap"]) == "point"
    assert brush_kind(["tap", "box_select"]) is None  # ambiguous: `lumen-ext validate` reports it
    assert brush_kind(None) is None
    assert brush_fields("xy", "lon", "lat") == ("lon", "lat")
    assert brush_fields("point", "service", "trips") == ("service",)
    assert brush_fields("x", None, "trips") == ()


def test_factors_covered_by_an_interval_or_a_point():
    factors = ["a", "b", "c", "d"]  # centred at 0.5, 1.5, 2.5, 3.5 without padding
    assert covered_factors(factors, 0.0, 1.2, 2.7) == ["b", "c"]
    assert covered_factors(factors, 0.0, 3.1, 3.1) == ["d"]
    assert covered_factors(factors, 0.0, 1.1, 1.4) == []  # between two centres: no bar's middle
    # factor_padding 0.5 puts centres at 0.5, 2.0, 3.5, 5.0
    assert covered_factors(factors, 0.5, 1.9, 3.6) == ["b", "c"]


def test_axis_values_match_the_column_types():
    from bokeh.models import FactorRange, Range1d

    hours = pd.Series([0, 1, 2, 3], dtype="int64")
    # Factors are text on the axis; the filter gets the column's own values back.
    assert axis_value(FactorRange(factors=["0", "1", "2", "3"]), False, 0.9, 2.6, hours) == [1, 2]
    assert axis_value(FactorRange(factors=["0", "1"]), False, 5.0, 6.0, hours) is None
    numeric = Range1d(0, 10)
    assert axis_value(numeric, False, 2.5, 1.2, pd.Series([1.0, 2.0])) == (1.2, 2.5)
    assert axis_value(numeric, False, 1.2, 4.7, hours) == (2, 4)  # whole values inside the interval
    assert axis_value(numeric, False, 1.2, 1.7, hours) is None
    ms = pd.Timestamp("2024-03-01 12:00").value / 1e6, pd.Timestamp("2024-03-04 06:00").value / 1e6
    days = pd.Series([dt.date(2024, 3, d) for d in range(1, 6)], dtype=object)
    # Calendar dates: the days whose midnight the interval covers.
    assert axis_value(numeric, True, *ms, days) == (dt.date(2024, 3, 2), dt.date(2024, 3, 4))
    stamps = pd.Series(pd.to_datetime(["2024-03-01 10:00", "2024-03-02 10:00"]))
    assert axis_value(numeric, True, *ms, stamps) == (dt.datetime(2024, 3, 1, 12), dt.datetime(2024, 3, 4, 6))


@pytest.fixture(scope="module")
def rides(tmp_path_factory) -> str:
    rng = np.random.default_rng(3)
    n = 5_000
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
            "service": rng.choice(["Standard", "Shared", "XL"], n),
            "lon": rng.uniform(-74.1, -73.8, n),
            "lat": rng.uniform(40.6, 40.9, n),
        }
    )
    path = tmp_path_factory.mktemp("crossfilter") / "rides.parquet"
    frame.to_parquet(path, index=False)
    return str(path)


def _views(rides: str):
    """Three real hvPlot views over one DuckDB source: an interval brush, a tap brush, and a linked view."""
    from lumen.pipeline import Pipeline
    from lumen.sources.duckdb import DuckDBSource
    from lumen.transforms.sql import SQLGroupBy
    from lumen.views.base import hvPlotView

    table = f"SELECT CAST(day AS DATE) AS day, service, lon, lat, 1 AS trips FROM read_parquet('{rides}')"
    source = DuckDBSource(uri=":memory:", tables={"trips": table})

    def grouped(*by: str) -> Pipeline:
        group_by = SQLGroupBy(by=list(by), aggregates={"SUM": ["trips"]})
        return Pipeline(source=source, table="trips", sql_transforms=[group_by])

    daily = hvPlotView(
        name="daily", pipeline=grouped("day"), kind="line", x="day", y="trips", tools=["xbox_select"]
    )
    services = hvPlotView(
        name="services", pipeline=grouped("service"), kind="bar", x="service", y="trips", tools=["tap"]
    )
    linked = hvPlotView(name="linked", pipeline=grouped("service", "day"), kind="scatter", x="day", y="trips")
    return daily, services, linked


def _sums(data: pd.DataFrame, key: str) -> dict:
    return {
        (k.isoformat() if isinstance(k, dt.date) else k): int(v)
        for k, v in zip(data[key], data["trips"], strict=True)
    }


@pytest.fixture
def stage_cache():
    """The stage cache as `lumen-ext serve` runs it: brushed queries go through it like any filtered query."""
    from support.stage_cache import install, uninstall

    store = install()
    yield store
    uninstall()


def test_a_group_filters_every_other_view_in_sql(rides, stage_cache):
    daily, services, linked = _views(rides)
    group = Group("rides")
    for view in (daily, services, linked):
        group.join(view)
    # Each brush is a filter in the other views' pipelines, never in its own.
    assert [f.field for f in services.pipeline.filters] == ["day"]
    assert [f.field for f in daily.pipeline.filters] == ["service"]
    assert sorted(f.field for f in linked.pipeline.filters) == ["day", "service"]

    db = duckdb.connect()
    db.execute(f"CREATE VIEW trips AS SELECT CAST(day AS DATE) AS day, service FROM read_parquet('{rides}')")

    def truth(key: str, where: str) -> dict:
        rows = db.execute(f"SELECT {key}, count(*) FROM trips WHERE {where} GROUP BY {key}").fetchall()
        return {(k.isoformat() if isinstance(k, dt.date) else k): n for k, n in rows}

    first, last = dt.date(2024, 1, 10), dt.date(2024, 1, 20)
    recomputed = group.brush(daily, {"day": (first, last)})
    assert {id(p) for p in recomputed} == {id(services.pipeline), id(linked.pipeline)}
    days = f"day BETWEEN DATE '{first}' AND DATE '{last}'"
    assert _sums(services.pipeline.data, "service") == truth("service", days)
    assert len(daily.pipeline.data) == 60  # not filtered by its own brush

    group.brush(services, {"service": ["XL"]})
    assert _sums(daily.pipeline.data, "day") == truth("day", "service = 'XL'")
    assert _sums(services.pipeline.data, "service") == truth("service", days)
    both = linked.pipeline.data
    assert int(both["trips"].sum()) == sum(truth("service", f"{days} AND service = 'XL'").values())

    assert group.brush(services, {"service": ["XL"]}) == []  # the same brush again recomputes nothing
    group.brush(daily, None)  # cleared (the reset tool)
    assert _sums(services.pipeline.data, "service") == truth("service", "TRUE")
    hits = stage_cache.stats()["memory"]["hits"]
    group.brush(daily, {"day": (first, last)})  # a state seen before: answered from the stage cache
    assert stage_cache.stats()["memory"]["hits"] > hits
    assert _sums(services.pipeline.data, "service") == truth("service", days)
    assert crossfilter.manages(linked) and crossfilter.group_of(linked) is group


def test_a_set_brush_is_a_rollup_dimension_an_unset_one_is_not(rides, stage_cache, monkeypatch):
    """The pre-aggregated index: the first brushed query builds a cube of the view's keys by the brushed column in
    the background; later brush steps are answered from it, without reading the table, equal to DuckDB over the
    table. A brush that is not set (a map's, on floats, which no cube can have) is not a dimension."""
    from lumen.pipeline import Pipeline
    from lumen.sources.duckdb import DuckDBSource
    from lumen.views.base import hvPlotView

    from lumen_ext.cache import rollup
    from lumen_ext.cache.rollup_stage import filter_fields
    from lumen_ext.cache.stages import build_plan

    daily, services, _ = _views(rides)
    points = Pipeline(source=services.pipeline.source, table="trips")
    pickups = hvPlotView(name="map", pipeline=points, kind="points", x="lon", y="lat", tools=["box_select"])
    group = Group("rides")
    for view in (daily, services, pickups):
        group.join(view)
    assert [f.field for f in services.pipeline.filters] == ["day", "lon", "lat"]
    assert filter_fields(services.pipeline) == ()
    group.brush(daily, {"day": (dt.date(2024, 1, 5), dt.date(2024, 1, 25))})
    assert filter_fields(services.pipeline) == ("day",)
    assert "answered from a rollup cube by day" in build_plan(services.pipeline, stage_cache).stages[0].detail
    assert rollup.wait_for_builds(60)

    reads, fetch = [], DuckDBSource.fetch
    monkeypatch.setattr(
        DuckDBSource, "fetch", lambda source, *a, **k: reads.append(a) or fetch(source, *a, **k)
    )
    db = duckdb.connect()
    for first, last in (
        (dt.date(2024, 1, 8), dt.date(2024, 2, 2)),
        (dt.date(2024, 2, 10), dt.date(2024, 2, 12)),
    ):
        group.brush(daily, {"day": (first, last)})
        where = f"CAST(day AS DATE) BETWEEN DATE '{first}' AND DATE '{last}'"
        rows = db.execute(
            f"SELECT service, count(*) FROM read_parquet('{rides}') WHERE {where} GROUP BY service"
        ).fetchall()
        assert _sums(services.pipeline.data, "service") == dict(rows)
    # Every later step of the services view came from its cube: the table was read only for the map's points.
    assert reads and not any("GROUP BY" in sql.upper() for (sql, *_) in reads), reads


def test_each_session_has_its_own_groups_kept_on_its_document(rides):
    """Groups are per session and live on its Bokeh document (so they go with it when Bokeh discards the session;
    a module-level mapping would hold the views, and through their panes the document, of every closed session)."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from lumen_ext.views.crossfilter import GROUPS_ATTR, joining_init_link_selections

    join = joining_init_link_selections(lambda view: None, None)
    sessions = []
    for _ in range(2):
        document = Document()
        with set_curdoc(document):
            views = _views(rides)
            for view in views:
                view.param.update(selection_group="rides")
                join(view)
        sessions.append((document, views))
    for document, views in sessions:
        group = getattr(document, GROUPS_ATTR)["rides"]
        assert group.views == list(views)
        assert all(crossfilter.group_of(view) is group for view in views)
    assert getattr(sessions[0][0], GROUPS_ATTR)["rides"] is not getattr(sessions[1][0], GROUPS_ATTR)["rides"]
