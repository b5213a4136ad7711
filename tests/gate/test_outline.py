"""What `lumen-ext test` reads from a spec before opening it: where each view sits in its layout's card, and which
filters several tabs share (so each is operated once)."""

from __future__ import annotations

import yaml
from support.paths import SPECS_DIR

from lumen_ext.gate.controls import single_filter_labels
from lumen_ext.gate.outline import DashboardOutline


def test_views_are_placed_by_the_layout_grid_or_their_order():
    outline = DashboardOutline.from_spec(yaml.safe_load((SPECS_DIR / "earthquakes.yaml").read_text()))
    assert outline.tabs and outline.titles() == ["Overview", "Event catalogue"]
    assert outline.layout("Overview").views == {
        "events": (0, 0),
        "strongest": (0, 1),
        "deepest": (0, 2),
        "map": (1, 0),
        "depth_vs_mag": (1, 1),
        "mag_hist": (2, 0),
        "timeline": (2, 1),
    }
    assert outline.layout("Event catalogue").views == {"catalogue": (0,)}
    assert not DashboardOutline.from_spec(yaml.safe_load((SPECS_DIR / "stocks.yaml").read_text())).tabs


def test_list_views_by_name_or_index_and_grids_by_index():
    spec = {
        "layouts": [
            {
                "title": "A",
                "views": [{"type": "table", "name": "t"}, {"type": "table"}],
                "layout": [[1], [0]],
            },
            {"title": "B", "views": [{"type": "table"}, {"type": "table"}]},
            {"views": [{"type": "table"}]},  # no title: not a layout Lumen can show
        ]
    }
    outline = DashboardOutline.from_spec(spec)
    assert outline.titles() == ["A", "B"]
    assert outline.layout("A").views == {"views[1]": (0, 0), "t": (1, 0)}
    assert outline.layout("B").views == {"views[0]": (0,), "views[1]": (1,)}


def test_filters_named_once_in_the_spec_are_operated_once():
    spec = {
        "pipelines": {
            "a": {"filters": {"species": {"type": "widget", "field": "species"}}},  # a mapping of filters
            "b": {"filters": [{"type": "widget", "field": "island", "label": "Island"}]},
            "c": {"filters": [{"type": "widget", "field": "island"}]},
        }
    }
    assert single_filter_labels(spec) == {"species"}
