"""hvPlot views patch new data into the plot on screen, and rebuild it whenever patching would not be correct.

A real Lumen dashboard is built from YAML and rendered into a Bokeh document in a subprocess (``scenarios.py``);
each step changes a filter or a view option, and every view's Figure is compared, model by model, with the one
Lumen's own code builds from scratch for the same data.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.paths import SPECS_DIR

HERE = Path(__file__).parent

# One xdist worker runs this module: the scenario subprocess (~45 s) is computed once per run, and a second worker
# given some of these tests would only wait on its lock (pyproject's `--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("views-scenarios")

SPEC = """\
# Each plot has axes of its own columns: Panel links the axes of same-named dimensions across a layout, and a
# shared range then shows the extents of whichever plot updated last (after a rebuild as after a patch), so
# comparing each Figure with one rendered on its own needs unlinked axes. (The penguins spec links some.)
sources:
  shop:
    type: file
    cache_per_query: false
    tables:
      sales: sales.csv
    kwargs:
      parse_dates: [day]
pipelines:
  sales:
    source: shop
    table: sales
    filters:
      - type: widget
        field: region
      - type: widget
        field: channel
  by_city:
    pipeline: sales
    transforms:
      - type: aggregate
        by: [city]
        columns: [profit]
        method: sum
        with_index: false
  by_day:
    pipeline: sales
    transforms:
      - type: aggregate
        by: [day]
        columns: [visits]
        method: sum
        with_index: false
      - type: sort
        by: [day]
layouts:
  - title: Sales
    views:
      scatter:
        type: hvplot
        pipeline: sales
        kind: scatter
        x: revenue
        y: units
        by: channel
        hover_cols: [city]
        responsive: true
        height: 300
      unshared:
        type: hvplot
        pipeline: sales
        kind: scatter
        x: weight
        y: price
        by: channel
        shared_axes: false
        height: 300
        width: 400
      colour:
        type: hvplot
        pipeline: sales
        kind: scatter
        x: discount
        y: weight
        c: units
        cmap: viridis
        height: 300
        width: 400
      cities:
        type: hvplot
        pipeline: by_city
        kind: bar
        x: city
        y: profit
        height: 300
        width: 400
      trend:
        type: hvplot
        pipeline: by_day
        kind: line
        x: day
        y: visits
        height: 300
        width: 400
      spread:
        type: hvplot
        pipeline: sales
        kind: hist
        y: price
        bins: 20
        height: 300
        width: 400
      raster:
        type: hvplot
        pipeline: sales
        kind: scatter
        x: lat
        y: lon
        rasterize: true
        height: 300
        width: 400
      linked:
        type: hvplot
        pipeline: sales
        kind: scatter
        x: lat
        y: lon
        selection_group: sales
        height: 300
        width: 400
      records:
        type: table
        pipeline: sales
        page_size: 10
"""

CITIES = {"N": ["Oslo", "Bergen"], "S": ["Rome", "Naples", "Bari"], "E": ["Riga"], "W": ["Lisbon", "Porto"]}

STEPS = [
    # Only the data changes: every plot keeps its Figure, the bar chart too (its 8 cities become 3).
    {"pipeline": "sales", "filter": "region", "value": ["N", "E"]},
    # A channel disappears: the scatter coloured by channel loses a legend entry and colour, so it rebuilds.
    {"pipeline": "sales", "filter": "channel", "value": ["web", "shop"]},
    # A view option that changes the plot's dimensions: that view rebuilds, the others are untouched.
    {"view": "trend", "param": "kind", "value": "scatter"},
    # After a rebuild the new plot is patched again.
    {"pipeline": "sales", "filter": "region", "value": ["S"]},
    # Back to the state of steps 1-2: the stage cache has its frames, so the plots' HoloViews objects are reused.
    {"pipeline": "sales", "filter": "region", "value": ["N", "E"]},
    # A second session opens: its first render reuses the first session's objects for the initial state.
    {"new_session": True},
    # The second session chooses step 1's regions: its plots are set from the first session's drawings.
    {"pipeline": "sales", "filter": "region", "value": ["N", "E"]},
]
REVISIT = 4
SECOND_SESSION = 5


def make_sales(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(list(CITIES), rows)
    return pd.DataFrame(
        {
            "day": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 60, rows), unit="D"),
            "region": region,
            "city": [rng.choice(CITIES[r]) for r in region],
            "channel": rng.choice(["web", "shop", "phone"], rows),
            "revenue": rng.gamma(2.0, 40.0, rows).round(2),
            "profit": rng.normal(10.0, 8.0, rows).round(2),
            "price": rng.uniform(1, 90, rows).round(2),
            "weight": rng.gamma(3.0, 1.5, rows).round(2),
            "visits": rng.integers(0, 9, rows),
            "units": rng.integers(1, 30, rows),
            "discount": rng.uniform(0, 0.4, rows).round(3),
            "lat": rng.uniform(35, 60, rows).round(4),
            "lon": rng.uniform(-9, 25, rows).round(4),
        }
    )


def run_scenarios(spec: Path, steps: list[dict], tmp: Path, cache: bool = False) -> list[dict]:
    steps_path = tmp / f"{spec.stem}-steps.json"
    steps_path.write_text(json.dumps(steps))
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "scenarios.py"),
            str(spec),
            str(steps_path),
            *(["--cache"] if cache else []),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=spec.parent,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def once_per_run(tmp_path_factory, name: str, produce) -> list[dict]:
    """``produce()``'s result, computed by one pytest process and read by the others (pytest-xdist workers)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    result = root / f"views-{name}.json"
    with (root / f"views-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            result.write_text(json.dumps(produce()))
        return json.loads(result.read_text())


@pytest.fixture(scope="module")
def sales_run(tmp_path_factory) -> list[dict]:
    def produce():
        folder = tmp_path_factory.mktemp("sales")
        make_sales().to_csv(folder / "sales.csv", index=False)
        (folder / "sales.yaml").write_text(SPEC)
        return run_scenarios(folder / "sales.yaml", STEPS, folder, cache=True)  # as `lumen-ext serve` runs

    return once_per_run(tmp_path_factory, "sales", produce)


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory) -> list[dict]:
    steps = [
        {"pipeline": "penguins", "filter": "sex", "value": ["male"]},
        {"pipeline": "penguins", "filter": "island", "value": ["Biscoe", "Dream"]},
    ]

    def produce():
        return run_scenarios(SPECS_DIR / "penguins.yaml", steps, tmp_path_factory.mktemp("penguins"))

    return once_per_run(tmp_path_factory, "penguins", produce)


def assert_patched(view: dict, label: str) -> None:
    assert view["outcome"] == "patched", f"{label}: {view['outcome']}"
    assert view["kept"], f"{label}: the Figure was replaced"
    assert view["differences"] == [], (
        f"{label}: the patched Figure differs from a rebuild: {view['differences']}"
    )
    assert view["rows_drawn"] == view["rows_rebuilt"] > 0


def assert_rebuilt(view: dict, label: str, reason: str) -> None:
    assert reason in view["outcome"], f"{label}: {view['outcome']}"
    assert not view["kept"], f"{label}: the Figure was kept"


class TestDataChanges:
    @pytest.mark.parametrize("name", ["scatter", "colour", "trend", "spread"])
    def test_filter_change_patches_the_figure(self, sales_run, name):
        assert_patched(sales_run[0]["views"][name], name)

    def test_bars_whose_count_changes_patch(self, sales_run):
        # Fewer cities, fewer bars: patched, and equal to a rebuild (BokehJS takes it: lumen_ext.views.event_order).
        assert_patched(sales_run[0]["views"]["cities"], "cities")

    def test_bar_factors_follow_the_data(self, sales_run):
        # The comparison with a rebuild covers the x range's factors; here only N and E cities remain.
        assert sales_run[0]["views"]["cities"]["rows_drawn"] == len(CITIES["N"]) + len(CITIES["E"])

    def test_table_updates_its_tabulator_in_place(self, sales_run):
        for step in sales_run:
            records = step["views"]["records"]
            assert records["kept"] and records["data_equal"], step["step"]

    @pytest.mark.parametrize("name", ["bills", "flippers", "mass_box", "mass_violin", "census"])
    def test_penguins_plots_patch(self, penguins_run, name):
        assert_patched(penguins_run[0]["views"][name], f"sex filter: {name}")

    def test_penguins_island_filter(self, penguins_run):
        # Torgersen (Adelie only) goes: every species stays, so the species-coloured plots patch as well, and so
        # do the birds-per-island bars, one bar fewer.
        for name, view in penguins_run[1]["views"].items():
            if "outcome" in view:
                assert_patched(view, f"island filter: {name}")


class TestFallbacks:
    def test_a_legend_entry_disappearing_rebuilds(self, sales_run):
        views = sales_run[1]["views"]
        assert_rebuilt(views["scatter"], "scatter by channel", "plot structure changed")
        assert views["scatter"]["differences"] == [], "the rebuilt scatter differs from Lumen's own"
        assert_patched(views["colour"], "colour")

    def test_an_option_change_rebuilds_that_view_only(self, sales_run):
        views = sales_run[2]["views"]
        assert_rebuilt(views["trend"], "trend", "plot structure changed")
        assert views["scatter"]["kept"] and views["cities"]["kept"]

    def test_a_revisited_state_reuses_its_plots(self, sales_run):
        # The same frames (stage cache keys) and view parameters as in steps 1-2: hvPlot is skipped, and the Figure
        # still equals one Lumen builds from scratch.
        before, views = sales_run[REVISIT - 1]["views"], sales_run[REVISIT]["views"]
        for name in ("scatter", "colour", "cities", "spread", "trend"):
            assert_patched(views[name], name)  # cities: region S has as many cities as N and E together
            assert views[name]["memo_hits"] == before[name]["memo_hits"] + 1, name
        # HoloViews is skipped too where the plot drew this state before (lumen_ext.views.drawings). Not for the
        # scatter and the trend line: they were rebuilt in this state (steps 2 and 3), so it is what they started
        # from, never drawn. Nor for the coloured scatter: its colour mapper's `high` first changed in step 3, so
        # its drawing of step 2 lacks it (stale) and HoloViews draws it again.
        for name in ("cities", "spread"):
            assert views[name]["replays"] == before[name]["replays"] + 1, name
        for name in ("scatter", "trend", "colour"):
            assert views[name]["replays"] == before[name]["replays"], name

    def test_a_second_session_renders_the_shared_objects_correctly(self, sales_run):
        # Objects from the first session's memo, drawn into another document: Figures equal to Lumen's own.
        views = sales_run[SECOND_SESSION]["views"]
        for name in ("scatter", "colour", "cities", "trend", "spread"):
            view = views[name]
            # Lumen may ask for the plot again (and so patch it) while it builds a layout: each ask is a hit.
            assert view["outcome"] in ("first render", "patched"), (name, view["outcome"])
            assert view["memo_hits"] >= 1 and view["builds"] == 0, (name, view["memo_hits"], view["builds"])
            assert view["differences"] == [], f"{name}: {view['differences']}"
            assert view["rows_drawn"] == view["rows_rebuilt"] > 0, name
        assert views["records"]["data_equal"]

    def test_a_second_session_is_set_from_the_first_sessions_drawings(self, sales_run):
        # Both sessions' plots started from the unfiltered frame, and the first drew step 1's state: the second's
        # plots take the values HoloViews gave the first's, and equal a rebuild.
        views = sales_run[SECOND_SESSION + 1]["views"]
        for name in ("scatter", "colour", "cities", "trend", "spread"):
            assert_patched(views[name], name)
        # The coloured scatter's drawing is stale (above).
        for name in ("scatter", "cities", "trend", "spread"):
            assert views[name]["replays"] == 1, name

    def test_an_option_change_is_not_served_from_the_memo(self, sales_run):
        # Step 2 turns the line chart into a scatter on data seen in step 1: a new object, built by hvPlot.
        assert sales_run[2]["views"]["trend"]["memo_hits"] == sales_run[1]["views"]["trend"]["memo_hits"]

    def test_the_document_holds_exactly_its_models(self, sales_run, penguins_run):
        # Patches skip Bokeh's walk over the document when no model was attached or detached (model_graph).
        for step in sales_run + penguins_run:
            assert step["models_in_sync"], step["step"]

    def test_patching_resumes_after_a_rebuild(self, sales_run):
        for name in ("scatter", "trend", "cities"):
            assert_patched(sales_run[3]["views"][name], name)

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("raster", "rasterize"),
            ("linked", "linked selections"),
            ("unshared", "shared_axes=False"),
        ],
    )
    def test_views_left_to_lumen(self, sales_run, name, reason):
        for step in sales_run:
            if step["step"].get("view") or step["step"].get("new_session"):
                continue
            view = step["views"][name]
            assert_rebuilt(view, name, reason)
