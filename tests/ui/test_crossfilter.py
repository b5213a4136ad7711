"""Crossfilter in a real Chromium against `lumen-ext serve specs/rides_crossfilter.yaml`: brush as a user would.

Three brushes, each a mouse gesture on the canvas: an interval dragged on the trips-per-day chart (``xbox_select``),
a click on a service bar (``tap``), a box dragged on the rasterized pickup map (``box_select``). After each one,
every view's data, read from the page's Bokeh data sources, must equal a DuckDB query of the same table under the
*other* views' brushes (crossfilter: a view is never filtered by its own brush). The brushes' values are computed
here from the figures' ranges and the pixels the mouse went through, the way BokehJS inverts them.

A second page opened afterwards must show every view unbrushed: brushes belong to their session.

The spec runs on 300,000 rows written by lumen-ext's own generator (the 10M file would only make the test slower;
the SQL is the same). One server and one page serve every step (about 12 s).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import duckdb
import pytest
from support.dashboard_page import poll_until
from support.paths import SPECS_DIR

from lumen_ext.data.synthetic import write_synthetic

pytestmark = pytest.mark.ui

SPEC = SPECS_DIR / "rides_crossfilter.yaml"
ROWS = 300_000
FIGURES_JS = (Path(__file__).parent / "crossfilter_figures.js").read_text()
DRAW_TIMEOUT = 90  # seconds for the first render (Datashader's import included)
BRUSH_TIMEOUT = 30  # seconds for a brush to reach every view
# The views, by their x-axis label.
PER_DAY, SERVICE, HEATMAP, MAP = "Pickup date", "Service", "Hour of day", "Longitude"


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/rides_crossfilter.yaml reading a 300k-row file of the same generator instead of the 10M one."""
    folder = tmp_path_factory.mktemp("crossfilter")
    parquet = write_synthetic(folder / "rides_300k.parquet", ROWS)
    text = SPEC.read_text(encoding="utf-8")
    original = "../sources/generated/rides_10m.parquet"
    assert original in text, "the spec no longer reads the generated rides file; update this fixture"
    spec = folder / SPEC.name
    spec.write_text(text.replace(original, str(parquet)), encoding="utf-8")
    return spec


class Truth:
    """What each view must show under a set of brushes, from DuckDB over the spec's own table expression."""

    def __init__(self, spec: Path):
        import yaml

        table = yaml.safe_load(spec.read_text(encoding="utf-8"))["sources"]["rides"]["tables"]["trips"]
        self.db = duckdb.connect()
        self.db.execute(f"CREATE VIEW trips AS {table}")

    def _rows(self, select: str, where: list[str], group: str) -> list[tuple]:
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self.db.execute(f"SELECT {select} FROM trips {clause} GROUP BY {group}").fetchall()

    def per_day(self, where: list[str]) -> dict:
        rows = self._rows("epoch_ms(pickup_date), SUM(trips)", where, "pickup_date")
        return {float(ms): int(n) for ms, n in rows}

    def by_service(self, where: list[str]) -> dict:
        return {s: int(n) for s, n in self._rows("service, SUM(trips)", where, "service")}

    def heatmap(self, where: list[str]) -> dict:
        rows = self._rows("weekday, pickup_hour, SUM(trips)", where, "weekday, pickup_hour")
        return {(w, str(h)): int(n) for w, h, n in rows}

    def map_total(self, where: list[str]) -> int:
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return int(self.db.execute(f"SELECT count(*) FROM trips {clause}").fetchone()[0])


def shown(page) -> dict:
    """Each view's data as the page has it, in the shapes `Truth` gives."""
    figures = page.evaluate(FIGURES_JS)
    seen: dict = {"figures": figures}
    if PER_DAY in figures:
        data = figures[PER_DAY]["sources"][0]["data"]
        seen["per_day"] = {
            float(ms): int(n) for ms, n in zip(data["pickup_date"], data["trips"], strict=True)
        }
    if SERVICE in figures:
        data = figures[SERVICE]["sources"][0]["data"]
        seen["by_service"] = {s: int(n) for s, n in zip(data["service"], data["trips"], strict=True)}
    if HEATMAP in figures:
        data = figures[HEATMAP]["sources"][0]["data"]
        # `zvalues` is what the colours show (`trips` is its hover text); NaN is a cell without trips.
        cells = zip(data["weekday"], data["pickup_hour"], data["zvalues"], strict=True)
        seen["heatmap"] = {
            (w, _hour(h)): int(n) for w, h, n in cells if isinstance(n, int | float) and n == n
        }
    if MAP in figures:
        seen["map_total"] = int(figures[MAP]["sources"][0]["data"]["image"][0])  # the pixels' sum
    return seen


def _hour(value) -> str:
    return str(int(float(value))) if not isinstance(value, str) or value.replace(".", "").isdigit() else value


def expect(page, truth: Truth, brushes: dict[str, str], what: str) -> dict:
    """Wait until every view shows its DuckDB answer under the brushes of the *other* views; return the page."""
    others = {
        "per_day": [sql for name, sql in brushes.items() if name != "per_day"],
        "by_service": [sql for name, sql in brushes.items() if name != "by_service"],
        "heatmap": list(brushes.values()),  # not a brush itself
        "map_total": [sql for name, sql in brushes.items() if name != "map"],
    }
    wanted = {
        "per_day": truth.per_day(others["per_day"]),
        "by_service": truth.by_service(others["by_service"]),
        "heatmap": truth.heatmap(others["heatmap"]),
        "map_total": truth.map_total(others["map_total"]),
    }

    def differences(seen: dict) -> dict:
        return {
            view: (_short(seen.get(view)), _short(value))
            for view, value in wanted.items()
            if seen.get(view) != value
        }

    deadline = time.monotonic() + BRUSH_TIMEOUT
    state = shown(page)
    while differences(state):
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: views differing from DuckDB after {BRUSH_TIMEOUT}s (shown, wanted): {differences(state)}"
            )
        page.wait_for_timeout(250)
        state = shown(page)
    return state


def _short(value):
    return (
        value
        if not isinstance(value, dict) or len(value) <= 6
        else f"{len(value)} keys, sum {sum(value.values())}"
    )


def drag(
    page, frame: list[float], start: tuple[float, float], end: tuple[float, float]
) -> tuple[tuple, tuple]:
    """A mouse drag over a figure's frame between two fractions of it; returns the pixel points used."""
    left, top, width, height = frame
    p0 = (round(left + start[0] * width), round(top + start[1] * height))
    p1 = (round(left + end[0] * width), round(top + end[1] * height))
    page.mouse.move(*p0)
    page.mouse.down()
    page.mouse.move((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, steps=4)
    page.mouse.move(*p1, steps=4)
    page.mouse.up()
    return p0, p1


def to_data(frame: list[float], axis_range: list, pixel: float, vertical: bool = False) -> float:
    """The data coordinate BokehJS's linear scale gives a page pixel on a figure's frame."""
    left, top, width, height = frame
    start, end = axis_range[0], axis_range[1]
    fraction = (top + height - pixel) / height if vertical else (pixel - left) / width
    return start + fraction * (end - start)


def test_brushes_filter_the_other_views_in_duckdb(small_spec, serve, page_and_watch):
    page, watch = page_and_watch
    truth = Truth(small_spec)
    with serve(small_spec) as served:
        page.goto(served.url)
        views = ("per_day", "by_service", "heatmap", "map_total")
        poll_until(
            page, lambda p: set(shown(p)), lambda s: s.issuperset(views), "all four views drawn", DRAW_TIMEOUT
        )
        state = expect(page, truth, {}, "before any brush")

        # 1. An interval of days on the time chart: its line's points are at midnight, so the brush selects the days
        # whose midnight it covers.
        figure = state["figures"][PER_DAY]
        p0, p1 = drag(page, figure["frame"], (0.30, 0.5), (0.45, 0.5))
        low = to_data(figure["frame"], figure["x_range"], p0[0])
        high = to_data(figure["frame"], figure["x_range"], p1[0])
        first = (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=low)).date() + dt.timedelta(days=1)
        last = (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=high)).date()
        brushes = {"per_day": f"pickup_date BETWEEN DATE '{first}' AND DATE '{last}'"}
        state = expect(page, truth, brushes, "after brushing days")
        assert sum(state["by_service"].values()) < ROWS / 2, (
            "the day brush should select a fraction of the year"
        )

        # 2. A click on one service's bar.
        figure = state["figures"][SERVICE]
        factors = figure["x_range"][2]
        service = "XL"
        centre = 0.5 + factors.index(
            service
        )  # FactorRange: factor i is centred at i + 0.5 (no factor padding)
        left, top, width, height = figure["frame"]
        start, end = figure["x_range"][0], figure["x_range"][1]
        page.mouse.click(left + (centre - start) / (end - start) * width, top + height - 3)
        brushes["by_service"] = f"service = '{service}'"
        state = expect(page, truth, brushes, "after clicking a service")

        # 3. A box on the pickup map: a longitude and a latitude interval.
        figure = state["figures"][MAP]
        p0, p1 = drag(page, figure["frame"], (0.35, 0.35), (0.6, 0.6))
        lon = sorted(to_data(figure["frame"], figure["x_range"], x) for x in (p0[0], p1[0]))
        lat = sorted(to_data(figure["frame"], figure["y_range"], y, vertical=True) for y in (p0[1], p1[1]))
        assert all(math.isfinite(v) for v in (*lon, *lat))
        brushes["map"] = (
            f"pickup_lon BETWEEN {lon[0]!r} AND {lon[1]!r} AND pickup_lat BETWEEN {lat[0]!r} AND {lat[1]!r}"
        )
        state = expect(page, truth, brushes, "after a box on the map")
        assert 0 < sum(state["heatmap"].values()) < state["map_total"]

        # Brushes belong to their session: a page opened now shows every view unbrushed (the plots and states the
        # first session computed are shared through the caches, its filters are not).
        other = page.context.browser.new_page(viewport={"width": 1400, "height": 1300})
        try:
            other.goto(served.url)
            poll_until(
                other,
                lambda p: set(shown(p)),
                lambda s: s.issuperset(views),
                "second page drawn",
                DRAW_TIMEOUT,
            )
            expect(other, truth, {}, "a second session")
        finally:
            other.close()

        assert not served.faults(), served.faults()
    assert not watch.problems(), watch.problems()
