"""Two filters whose combination selects no rows, in a real Chromium against `lumen-ext serve`.

Without lumen-ext, hvPlot turns the empty frame of a ``by`` plot into an empty overlay, HoloViews raises
``SkipRendering: could not plot any Elements``, the viewer gets a toast with that text, the old plot stays and the
server logs a failed callback. Here each plot shows a "no rows match" note in its place, the table shows no rows,
and the plots come back with the next selection that has rows.
"""

from __future__ import annotations

import pytest
from support.dashboard_page import plots_drew, poll_until, set_filter

pytestmark = pytest.mark.ui

SETTLE_TIMEOUT = 60  # seconds for the dashboard to draw
CHANGE_TIMEOUT = 10  # seconds for a filter change to reach the page
SALES = "region,product,qty,price\nN,A,10,1.5\nN,B,12,2.0\nS,A,7,1.0\nS,C,3,4.0\nE,B,5,2.5\nE,C,9,3.0\n"
SPEC = """
config:
  title: Empty selections
  layout: column
sources:
  shop:
    type: file
    tables:
      sales: sales.csv
pipelines:
  sales:
    source: shop
    table: sales
    filters:
      - type: widget
        field: region
      - type: widget
        field: product
layouts:
  - title: Sales
    pipeline: sales
    views:
      - type: hvplot
        title: Quantity by product
        kind: bar
        x: product
        y: qty
        by: region
      - type: hvplot
        title: Price against quantity
        kind: scatter
        x: qty
        y: price
        by: product
      - type: table
        title: Rows
        show_index: false
"""


def _seen(page) -> dict:
    return {
        "plots": plots_drew(page),
        "notes": page.locator(".lx-empty-note").all_inner_texts(),
        "rows": page.locator(".tabulator-row").filter(visible=True).count(),
        "cards": page.locator(".lx-fault-card").count(),
    }


def _wait_for(page, condition, what: str, timeout: float = CHANGE_TIMEOUT) -> dict:
    return poll_until(page, _seen, condition, what, timeout)


@pytest.mark.parametrize("door", ["lumen-ext serve", "lumen serve"])
def test_a_selection_without_rows_shows_a_note_and_the_plots_come_back(
    door, serve, lumen_serve, page_and_watch, tmp_path
):
    page, watch = page_and_watch
    project = tmp_path / "project"
    project.mkdir()
    (project / "sales.csv").write_text(SALES)
    spec = project / "empty.yaml"
    spec.write_text(SPEC)
    with serve(spec) if door == "lumen-ext serve" else lumen_serve(spec, cwd=project) as served:
        page.goto(served.url)
        _wait_for(page, lambda s: s["plots"] == 2 and s["rows"] == 6, "the dashboard draws", SETTLE_TIMEOUT)

        set_filter(page, "Region", ["E"])
        _wait_for(page, lambda s: s["plots"] == 2 and s["rows"] == 2, "region E")

        # Region E sells B and C only: E and A select nothing.
        set_filter(page, "Product", ["A"])
        # One snapshot with all of it: the notes' elements are on the page a moment before their text, and the
        # plots they replace a moment after.
        empty = _wait_for(
            page,
            lambda s: s["notes"] == ["No rows match the current filters."] * 2 and s["plots"] == 0,
            "a note in place of each plot",
        )
        assert empty["rows"] == 0 and empty["cards"] == 0, empty
        page.wait_for_timeout(1000)  # anything the server still had to say about the change has arrived
        assert page.locator(".pn-loading").count() == 0, "no view is left waiting for an update"

        set_filter(page, "Product", ["B", "C"])
        back = _wait_for(page, lambda s: s["plots"] == 2 and not s["notes"], "the plots come back")
        assert back["rows"] == 2, back

        assert served.faults() == [], "no error, traceback or failed callback in the server log"
    assert watch.problems() == {}
