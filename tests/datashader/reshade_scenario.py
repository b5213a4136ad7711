"""Change the colormap of the density spec's rasterized view and report how the Figure compares, as JSON.

    python tests/datashader/reshade_scenario.py SPEC.yaml

Run in a subprocess by ``test_reshade.py`` (Lumen keeps global state per process; Bokeh and Panel warnings stay
out of pytest). Installs what ``lumen-ext serve`` installs for views, builds the dashboard into a ``Document``,
sets the colormap variable, then describes the Figure on screen next to one Lumen's own code builds from scratch
for the same state (``tests/views/figures.py``), before and after a pan/zoom event.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "views"))

from figures import describe, differences


def main(spec: str) -> dict:
    warnings.simplefilter("ignore")
    from bokeh.document import Document
    from holoviews.streams import RangeXY
    from lumen.dashboard import Dashboard
    from lumen.state import state
    from lumen.views.base import hvPlotView
    from panel.io.state import set_curdoc

    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig

    # As `lumen-ext serve` installs them (its table order), without the security guards.
    hooks.enable("serving.lumen-fixes", "cache", "views", settings=hooks.Settings(cache=CacheConfig()))

    def figure(pane):
        plot, _ = next(iter(pane._plots.values()))
        return plot

    def rebuilt(view):
        """The Figure Lumen's own ``_get_params`` draws for the view's current state, in a new document."""
        params = hooks.original("lumen.views.base:hvPlotView._get_params")(view)
        pane = view._panel.clone(**params)
        with set_curdoc(Document()):
            pane.get_root(Document())
        return figure(pane)

    def zoom(plot, ranges):
        for stream in plot.streams:
            if isinstance(stream, RangeXY):
                stream.event(**ranges)
                return
        raise LookupError("no RangeXY stream")

    doc = Document()
    with set_curdoc(doc):
        dashboard = Dashboard(spec)
        doc.add_root(dashboard._template.main[0].get_root(doc))
        (view,) = [
            v
            for layout in dashboard.layouts
            for card in layout._cards
            for v in card.views
            if isinstance(v, hvPlotView)
        ]
        before = figure(view._panel).state.id
        state.variables.cmap = "kbc"
        on_screen = figure(view._panel)
        after_change = differences(describe(on_screen.state), describe(rebuilt(view).state))
        ranges = {"x_range": (-74.02, -73.94), "y_range": (40.70, 40.78)}
        zoom(on_screen, ranges)
        fresh = rebuilt(view)
        zoom(fresh, ranges)
        after_zoom = differences(describe(on_screen.state), describe(fresh.state))
        state.variables.cnorm = "linear"
        return {
            "kept": on_screen.state.id == before,
            "after_change": after_change,
            "after_zoom": after_zoom,
            "cnorm_rebuilt": figure(view._panel).state.id != before,
            "stats": __import__("lumen_ext.views.reshade", fromlist=["stats"]).stats(),
        }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
