"""Run-time fixes for Lumen 1.4 bugs that break a served dashboard.

Each fix is the replacement of one Lumen method (site-packages stays untouched); the hooks table
(:mod:`lumen_ext.hooks.table`) installs them and fingerprints the Lumen source they replace.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_data_sharing_buffers", "ordered_loading_off"]


def ordered_loading_off(original: Any, settings: Any) -> Any:
    return _ordered_loading_off


def get_data_sharing_buffers(original: Any, settings: Any) -> Any:
    # Only pandas' copy-on-write makes the shallow copy as safe as Lumen's deep one.
    return _get_data_sharing_buffers if _copy_on_write_is_always_on() else original


def _ordered_loading_off(view, event) -> None:
    """``View._update_loading`` that turns the spinner off in order with the view's re-render.

    Lumen (views/base.py, ``View._update_loading``) sets ``loading`` under Panel's ``immediate_dispatch`` both ways.
    Turning it *off* happens after the view re-rendered, so the ``css_classes`` change for the new plot's Figure
    is sent before the held ``children`` patch that introduces that Figure; BokehJS then throws "reference pNNN
    isn't known" for every re-rendered plot on every filter change. Turning it *on* stays immediate, so the spinner
    shows at once.
    """
    from panel.io.document import immediate_dispatch

    panel = view._panel
    if not hasattr(panel, "loading"):
        return
    if event.new:
        with immediate_dispatch():
            panel.loading = True
    else:
        panel.loading = False


def _get_data_sharing_buffers(view):
    """``View.get_data`` without the deep copy of the pipeline's frame on every render.

    Lumen (views/base.py, ``View.get_data``) ends in ``data.copy()``: a deep copy of the whole frame per view per
    update (1.3 s and the frame's size again in memory for a 6M-row rasterized view; every session's view holds
    its own). Under pandas 3 copy-on-write a shallow copy is as safe: a view that writes into its frame copies
    the touched columns first, so neither the pipeline's data nor the shared stage cache can change under it.
    """
    from lumen.util import as_pandas

    if view._cache is not None:
        return view._cache
    if view.pipeline.data is None:
        view.pipeline._update_data()
    view._cache = data = as_pandas(view.pipeline.data)
    if view.limit is not None:
        data = data.iloc[: view.limit]
    return data.copy(deep=False)


def _copy_on_write_is_always_on() -> bool:
    import pandas as pd

    return int(pd.__version__.split(".")[0]) >= 3
