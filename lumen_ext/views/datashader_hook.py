"""Install the cached Datashader aggregation (:mod:`lumen_ext.views.datashader`) when a view first needs it.

Importing Datashader (and Numba behind it) takes seconds, and most dashboards never rasterize anything, so
``lumen-ext serve`` installs only this light hook: the first hvPlot view with ``rasterize`` or ``datashade``
loads the real module (hvPlot would import Datashader for that view anyway) and is drawn through it.
Servers without the ``datashader`` extra keep Lumen's path, which then reports the missing package as usual.
"""

from __future__ import annotations

import functools
import importlib.util

__all__ = ["loading_get_plot"]

AGGREGATE_HOOK = "views.datashader.aggregate"


def _wants_datashader(view) -> bool:
    return bool(view.datashade or view.kwargs.get("rasterize"))


def loading_get_plot(original, settings):
    """``hvPlotView.get_plot`` that enables the cached aggregation (a deferred hook) for the first view that
    rasterizes; until then, and on servers without Datashader, every view is drawn by ``original``."""
    from lumen.views.base import hvPlotView

    from lumen_ext import hooks

    @functools.wraps(original)
    def get_plot(self, df):
        if (
            _wants_datashader(self)
            and not hooks.is_enabled(AGGREGATE_HOOK)
            and importlib.util.find_spec("datashader") is not None
            and hooks.enable_deferred(AGGREGATE_HOOK)
        ):
            return hvPlotView.get_plot(self, df)  # now through the cached aggregation's wrapper
        return original(self, df)

    return get_plot
