"""A colormap change on a rasterized hvPlot view repaints the plot on screen instead of rebuilding it.

A ``rasterize: true`` view sends Bokeh an image of aggregate values, and the browser colours it through the
Figure's colour mapper: the colormap is one list of colours on one Bokeh model. Lumen 1.4 still answers a
colormap change (a ``cmap`` bound to a variable, say) by building a new HoloViews object, re-running the
aggregation (a cache hit under :mod:`lumen_ext.views.datashader`, but still a whole new Figure) and sending the
browser a new model tree. Here, when the only thing that changed since the plot on screen was built is the
colormap, its colour mapper gets the new palette, exactly the list HoloViews computes for it
(``ElementPlot._get_colormapper``: ``process_cmap(cmap, None, categorical=False)``), and the HoloViews object on
screen gets the new ``cmap`` option in place, so the next pan or zoom draws with it too.

Anything else is the usual path (:mod:`lumen_ext.views.patching`, then Lumen): new data, another option (a
``cnorm`` change swaps the mapper's type), ``datashade`` (shaded into RGB on the server), ``color_levels``, a dict
colormap, a plot with no single continuous colour mapper, or a view whose data has no content key.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["reset_stats", "reshading_get_params", "stats"]

log = logging.getLogger("lumen_ext.views")

# Attribute on an hvPlotView holding what its plot on screen was built from.
RECORD_ATTR = "_lumen_ext_reshade"

_lock = threading.Lock()
_counts = {"reshaded": 0, "rebuilt": 0}


@dataclass
class _OnScreen:
    """The HoloViews object a view's pane shows, and the colormap-free key and colormap it was built for."""

    obj: Any = field(repr=False)
    key: str
    cmap: Any


def stats() -> dict[str, int]:
    """Colormap changes repainted in place, and updates of rasterized views that took the usual path."""
    with _lock:
        return dict(_counts)


def reset_stats() -> None:
    with _lock:
        _counts.update(reshaded=0, rebuilt=0)


def _count(name: str) -> None:
    with _lock:
        _counts[name] += 1


def _rasterized(view: Any) -> bool:
    return bool(view.kwargs.get("rasterize")) and not (view.datashade or view.kwargs.get("datashade"))


def _cmap(view: Any) -> Any:
    """The colormap hvPlot draws with: Lumen applies ``opts`` after the hvPlot keywords, so they win."""
    opts = view.opts or {}
    return opts["cmap"] if "cmap" in opts else view.kwargs.get("cmap")


def _key_without_cmap(view: Any) -> str | None:
    """Key of the view's plot with the colormap left out, or None when its data has no content key."""
    from lumen_ext.cache.hashing import Unhashable, combine
    from lumen_ext.views.plot_memo import frame_key, plotted_params

    data = frame_key(view)
    if data is None:
        return None
    params = plotted_params(view)
    params["kwargs"] = {k: v for k, v in (params.get("kwargs") or {}).items() if k != "cmap"}
    params["opts"] = {k: v for k, v in (params.get("opts") or {}).items() if k != "cmap"}
    try:
        return combine(data, "reshade", type(view).__qualname__, params)
    except Unhashable:
        return None


def _palette(cmap: Any) -> list[str] | None:
    """The palette HoloViews gives a continuous colour mapper for ``cmap``, or None when it is not one."""
    from holoviews.plotting.util import process_cmap

    if not (isinstance(cmap, str) or (isinstance(cmap, list) and all(isinstance(c, str) for c in cmap))):
        return None
    try:
        return list(process_cmap(cmap, None, categorical=False))
    except Exception:  # an unknown name: the rebuild reports it as Lumen does
        return None


def _colour_mappers(view: Any) -> list[Any] | None:
    """The continuous colour mapper of each rendering of the view's plot, or None if any has not exactly one."""
    from bokeh.models import ContinuousColorMapper

    plots = getattr(view._panel, "_plots", None)
    if not plots:
        return None
    mappers = []
    for plot, _ in plots.values():
        found = [
            (p, p.handles["color_mapper"])
            for p in plot.traverse(lambda p: p, [lambda p: "color_mapper" in getattr(p, "handles", {})])
        ]
        if len(found) != 1:
            return None
        owner, mapper = found[0]
        if not isinstance(mapper, ContinuousColorMapper) or getattr(owner, "color_levels", None) is not None:
            return None
        mappers.append(mapper)
    return mappers


def _try_reshade(view: Any, record: _OnScreen | None) -> bool:
    if record is None or view._panel is None or view._panel.object is not record.obj:
        return False
    cmap = _cmap(view)
    if cmap is None or record.cmap is None or cmap == record.cmap:
        return False
    if "color_levels" in view.kwargs or "color_levels" in (view.opts or {}):
        return False
    if _key_without_cmap(view) != record.key:
        return False
    palette, mappers = _palette(cmap), _colour_mappers(view)
    if palette is None or mappers is None:
        return False
    for mapper in mappers:
        mapper.palette = palette
    record.obj.opts(cmap=cmap)  # in place: a later pan or zoom redraws through these options
    record.cmap = cmap
    return True


def reshading_get_params(original: Any, settings: Any) -> Any:
    """``hvPlotView._get_params`` that repaints a rasterized view in place on a colormap change (stacked on the
    patching one: the hooks table composes them in its order)."""

    @functools.wraps(original)
    def get_params_reshading(self) -> dict[str, Any]:
        if not _rasterized(self):
            return original(self)
        record = getattr(self, RECORD_ATTR, None)
        if _try_reshade(self, record):
            _count("reshaded")
            log.debug("view %s repainted with a new colormap", self.name)
            return {}  # the pane, and so the Figure, stays
        params = original(self)
        _count("rebuilt")
        obj = params.get("object")
        if obj is not None:
            key = _key_without_cmap(self)
            setattr(self, RECORD_ATTR, None if key is None else _OnScreen(obj, key, _cmap(self)))
        return params

    return get_params_reshading
