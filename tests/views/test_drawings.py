"""A frame drawn before is set from its drawing, and the plot is then exactly what HoloViews would have drawn.

Plots are built the way ``lumen_ext.views.patching`` builds them (a framewise element behind a ``Pipe``, in a Bokeh
document) and driven through :func:`lumen_ext.views.drawings.send`; every Figure is compared, model by model, with a
twin HoloViews drew itself (``figures.describe``).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from views.figures import describe, differences

from lumen_ext import hooks
from lumen_ext.views import drawings

STATES = {
    "north": pd.DataFrame(
        {
            "city": ["Oslo", "Bergen", "Oslo", "Bergen"],
            "kind": ["a", "a", "b", "b"],
            "sales": [3.0, 5.0, 2.0, 7.0],
        }
    ),
    "south": pd.DataFrame(
        {
            "city": ["Rome", "Bari", "Naples", "Rome", "Bari", "Naples"],
            "kind": ["a", "a", "a", "b", "b", "b"],
            "sales": [9.0, 1.0, 4.0, 6.0, 8.0, 2.5],
        }
    ),
    "east": pd.DataFrame({"city": ["Riga", "Riga"], "kind": ["a", "b"], "sales": [40.0, 0.5]}),
}


@pytest.fixture(autouse=True)
def installed():
    hooks.enable("views.drawings")
    drawings.memo.clear()
    yield
    hooks.disable("views.drawings")
    drawings.memo.clear()


@pytest.fixture(scope="module")
def elements():
    with warnings.catch_warnings():
        # pandas 3.1 deprecations raised inside hvPlot/HoloViews while they build the elements: not under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        import hvplot.pandas  # noqa: F401

        return {
            name: frame.hvplot.bar(x="city", y="sales", by="kind", height=300, width=400).opts(framewise=True)
            for name, frame in STATES.items()
        }


class Plot:
    """One view's plot as patching.py makes it: the first element behind a Pipe, rendered into a document."""

    def __init__(self, first, lineage: str = "initial"):
        import panel as pn
        from bokeh.document import Document
        from holoviews import DynamicMap
        from holoviews.streams import Pipe
        from panel.io.state import set_curdoc

        self.lineage, self.sends = lineage, 0
        self.pipe = Pipe(data=first)
        self.pane = pn.pane.HoloViews(DynamicMap(lambda data: data, streams=[self.pipe], cache_size=1))
        self.doc = Document()
        with set_curdoc(self.doc):
            self.doc.add_root(self.pane.get_root(self.doc))

    @property
    def hv_plot(self):
        ((plot, _),) = self.pane._plots.values()
        return plot

    def show(self, element, key: str) -> bool:
        """Patch in ``element`` as patching.py does; True when it was set from a drawing."""
        from panel.io.state import set_curdoc

        with warnings.catch_warnings(), set_curdoc(self.doc):
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            replayed = drawings.send(
                self.pipe, element, key, [self.hv_plot], self.lineage, fresh=self.sends == 0
            )
        self.sends += 1
        return replayed

    def describe(self):
        return describe(self.hv_plot.state)


def drawn_by_holoviews(elements, sequence: list[str]):
    """A twin that HoloViews alone draws through ``sequence`` (its own lineage, no drawings to use)."""
    twin = Plot(elements["north"], lineage=None)
    for name in sequence:
        twin.show(elements[name], None)
    return twin


def test_a_repeated_frame_is_set_from_its_drawing_and_equals_holoviews(elements):
    plot = Plot(elements["north"])
    assert plot.show(elements["south"], "south") is False  # drawn by HoloViews, recorded
    assert plot.show(elements["east"], "east") is False
    assert plot.show(elements["south"], "south") is True
    assert differences(plot.describe(), drawn_by_holoviews(elements, ["south"]).describe()) == []
    assert plot.show(elements["east"], "east") is True
    assert differences(plot.describe(), drawn_by_holoviews(elements, ["east"]).describe()) == []


def test_another_plot_of_the_lineage_is_set_from_the_first_ones_drawings(elements):
    first = Plot(elements["north"])
    first.show(elements["south"], "south")
    first.show(elements["east"], "east")
    second = Plot(elements["north"])  # another session, in the same initial state
    assert second.show(elements["south"], "south") is True
    assert differences(second.describe(), drawn_by_holoviews(elements, ["south"]).describe()) == []


def test_a_plot_that_started_elsewhere_is_drawn_by_holoviews(elements):
    first = Plot(elements["north"])
    first.show(elements["south"], "south")
    other = Plot(elements["east"], lineage="east-initial")  # initialised from another frame: another lineage
    assert other.show(elements["south"], "south") is False
    assert drawings.memo.stats.misses == 2


def test_holoviews_draws_the_frame_it_drew_before_a_replay(elements):
    # HoloViews skips the data of a frame it believes is on screen (``previous_id``): after a replay it must not.
    plot = Plot(elements["north"])
    plot.show(elements["south"], "south")
    plot.show(elements["east"], "east")
    assert plot.show(elements["south"], "south") is True
    assert plot.show(elements["east"], None) is False  # no key: HoloViews draws the element it drew last
    assert differences(plot.describe(), drawn_by_holoviews(elements, ["east"]).describe()) == []


def test_a_drawing_older_than_what_the_lineage_learnt_is_not_replayed(elements):
    plot = Plot(elements["north"])
    plot.show(elements["south"], "south")
    lineage = drawings.memo.link(plot.hv_plot).lineage
    lineage.changed[((("made", 0),), "up")] = None  # as if a later update changed one more property
    assert plot.show(elements["south"], "south") is False
    assert drawings.memo.stats.stale == 1


def test_a_plot_with_a_pipe_sent_before_it_was_seen_joins_no_lineage(elements):
    plot = Plot(elements["north"])
    plot.sends = 1  # the pipe sent a frame since the plot was drawn: its start is unknown
    plot.show(elements["south"], "south")
    assert plot.show(elements["south"], "south") is False
    assert drawings.memo.link(plot.hv_plot).lineage is None


def test_drawings_hold_copies(elements):
    plot = Plot(elements["north"])
    plot.show(elements["south"], "south")
    plot.show(elements["east"], "east")
    plot.show(elements["south"], "south")
    source = plot.hv_plot.handles["source"]
    column = next(
        c for c, v in source.data.items() if getattr(v, "dtype", None) is not None and v.dtype.kind == "f"
    )
    source.data[column][0] = -999.0  # e.g. a browser edit patching the source in place
    plot.show(elements["east"], "east")
    assert plot.show(elements["south"], "south") is True
    assert -999.0 not in list(plot.hv_plot.handles["source"].data[column])
