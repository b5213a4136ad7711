"""Install the cached Datashader aggregation (:mod:`lumen_ext.views.datashader`) when a view first needs it.

Importing Datashader (and Numba behind it) takes seconds, and most dashboards never rasterize anything, so
``lumen-ext serve`` installs only this light hook: the first hvPlot view with ``rasterize`` or ``datashade``
loads the real module (hvPlot would import Datashader for that view anyway) and is drawn through it.
Servers without the ``datashader`` extra keep Lumen's path, which then reports the missing package as usual.
"""

from __future__ import annotations

import functools
import importlib.util
import threading

__all__ = ["install"]

_lock = threading.Lock()
_hooked = False
_loaded = False


def _wants_datashader(view) -> bool:
    return bool(view.datashade or view.kwargs.get("rasterize"))


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        from lumen_ext.views import datashader

        datashader.install()  # wraps hvPlotView.get_plot again, chaining to the hook below
        _loaded = True


def install() -> None:
    """Hook ``hvPlotView.get_plot`` so the cached aggregation is installed on first use. Idempotent."""
    global _hooked
    if importlib.util.find_spec("datashader") is None:
        return
    from lumen.views.base import hvPlotView

    with _lock:
        if _hooked:
            return
        original = hvPlotView.__dict__["get_plot"]

        @functools.wraps(original)
        def get_plot(self, df):
            if not _loaded and _wants_datashader(self):
                _load()
                return hvPlotView.get_plot(self, df)  # now through the cached aggregation's wrapper
            return original(self, df)

        hvPlotView.get_plot = get_plot
        _hooked = True
