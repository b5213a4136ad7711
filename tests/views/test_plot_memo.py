"""The memo of built HoloViews objects: shared only when safe, bounded, keyed by the frame and the view."""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # options are checked against a loaded plotting backend
import pandas as pd
import pytest
from bokeh.models import NumeralTickFormatter

from lumen_ext.views.plot_memo import Entry, PlotMemo, holds_bokeh_models
from lumen_ext.views.signature import signature

FRAME = pd.DataFrame({"x": ["a", "b", "c"], "y": [1.0, 2.0, 3.0], "g": ["p", "q", "p"]})


def entry(plot, nbytes: int = 100) -> Entry:
    return Entry(plot, signature(plot), nbytes)


def test_plain_options_are_shared_by_every_view():
    memo = PlotMemo()
    plot = hv.Bars(FRAME, "x", "y").opts(color="red", backend="bokeh")
    memo.put("k", "view-1", entry(plot))
    assert memo.get("k", "view-2").plot is plot
    assert memo.stats.hits == 1


def formatted_bars():
    return hv.Bars(FRAME, "x", "y").opts(yformatter=NumeralTickFormatter(format="0.0"), backend="bokeh")


def overlay_with_a_formatted_layer():
    layers = {g: hv.Bars(FRAME[FRAME.g == g], "x", "y") for g in "pq"}
    overlay = hv.NdOverlay(layers, "g")
    return overlay.map(
        lambda el: el.opts(yformatter=NumeralTickFormatter(format="0"), backend="bokeh"), hv.Bars
    )


def test_plain_options_hold_no_bokeh_model():
    assert not holds_bokeh_models(
        hv.Bars(FRAME, "x", "y").opts(color="red", tools=["hover"], backend="bokeh")
    )


@pytest.mark.parametrize("build", [formatted_bars, overlay_with_a_formatted_layer], ids=["element", "layer"])
def test_an_option_holding_a_bokeh_model_stays_with_its_view(build):
    # HoloViews puts that very model into the Figure, and a Bokeh model belongs to one document.
    plot = build()
    assert holds_bokeh_models(plot)
    memo = PlotMemo()
    memo.put("k", "view-1", entry(plot))
    assert memo.get("k", "view-2") is None
    assert memo.get("k", "view-1").plot is plot


def test_bounded_by_bytes_and_entries():
    memo = PlotMemo(max_bytes=1000, max_entries=3)
    plot = hv.Curve(FRAME, "y", "y")
    memo.put("too big", "v", entry(plot, nbytes=251))  # over a quarter of the budget: never kept
    assert memo.get("too big", "v") is None and memo.stats.uncacheable == 1
    for key in "abcd":
        memo.put(key, "v", entry(plot, nbytes=200))
    assert len(memo) == 3 and memo.get("a", "v") is None  # the oldest went first
    memo.get("b", "v")  # now the most recent
    for key in "ef":
        memo.put(key, "v", entry(plot, nbytes=250))
    assert memo.nbytes <= 1000
    assert memo.get("b", "v") is not None and memo.get("c", "v") is None
    assert memo.stats.evictions >= 2
