"""Datashader aggregation as a cached stage of Lumen's hvPlot views (``rasterize: true`` / ``datashade: true``).

An hvPlot view with ``rasterize`` or ``datashade`` hands its whole frame to HoloViews, which runs Datashader
every time the plot is drawn: on the first render, on every pan or zoom (a ``RangeXY`` stream event), and
again whenever Lumen rebuilds the plot because an option changed, even if only the colormap did. On ten
million points each of those is a full pass over the data.

``install()`` makes the aggregate a stage of the process-wide stage cache (:mod:`lumen_ext.cache`), keyed by

* the key of the view's data: the key the stage cache recorded for the pipeline's current result
  (``RESULT_ATTR``), chained with the view's ``limit``;
* the glyph, the x/y columns and the reduction (``count()``, ``mean('fare_usd')``, ...);
* the viewport (x/y ranges), the canvas size in pixels and the axis types.

Shading options (``cmap``, ``cnorm``, ``clim``, ``alpha``, ...) are not in the key, so changing them re-shades
the cached aggregate: no source is read and nothing is aggregated. A new viewport is aggregated once and
revisiting it is a hit, in this process and, through the second tier, in the others.

Why Datashader on the pipeline's in-memory frame rather than binning in DuckDB: Lumen materialises the
view's pipeline as a pandas frame whatever we do (the view is drawn from ``Pipeline.data``), and on that
frame Datashader counts ten million points into a 700x500 canvas in about 0.2 s, where the same binning as a
DuckDB ``GROUP BY`` takes about 2.7 s on this machine (``bench/bench_datashader.py`` measures both). It is
also Datashader's own aggregation, so the cached path gives exactly what Lumen's uncached path gives.

How it hooks in, without editing site-packages:

* ``hvPlotView.get_plot`` is wrapped: after hvPlot has built the plot, the ``Points``/``Scatter`` element
  that wraps the view's frame is found (following each ``DynamicMap``'s inputs) and tagged with the view's
  data key. The wrapper chains to whatever ``get_plot`` was installed before it.
* HoloViews' ``rasterize`` (and ``datashade``, which inherits its table) maps those elements to
  :class:`CachedAggregate`, a subclass of its ``aggregate`` operation that consults the store around the one
  call into Datashader. An untagged element (any other plot in the process, a view whose data key is unknown
  because the stage cache is not installed) goes through ``aggregate`` unchanged.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from holoviews.core.spaces import DynamicMap
from holoviews.element import Points, Scatter
from holoviews.operation import datashader as hv_datashader

from lumen_ext.cache import runtime
from lumen_ext.cache.hashing import Unhashable, combine
from lumen_ext.views.plot_memo import frame_key

__all__ = [
    "CachedAggregate",
    "aggregate_key",
    "cached_aggregate_get_plot",
    "cached_aggregate_transforms",
    "frame_to_grid",
    "grid_to_frame",
    "stats",
]

AGGREGATE_VERSION = 1  # bump when what is stored under a key changes

# Attribute set on the HoloViews element hvPlot built around a view's frame: the key of that frame.
DATA_KEY_ATTR = "_lumen_ext_data_key"

# Reductions whose result is one plain grid, fully described by their type and column. Anything else
# (``by``/``count_cat``, ``where``, ``summary``, selectors) keeps HoloViews' own, uncached path.
_CACHEABLE_REDUCTIONS = ("any", "count", "max", "mean", "min", "std", "sum", "var")

_lock = threading.Lock()


@dataclass
class AggregateStats:
    """What the cached aggregation did in this process (for tests, the benchmark and ``/metrics``)."""

    hits: int = 0
    aggregations: int = 0  # Datashader runs whose result was stored
    uncached: int = 0  # Datashader runs on a tagged element that could not be keyed

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "aggregations": self.aggregations, "uncached": self.uncached}


_stats = AggregateStats()


def stats() -> dict[str, int]:
    with _lock:
        return _stats.as_dict()


def reset_stats() -> None:
    with _lock:
        _stats.hits = _stats.aggregations = _stats.uncached = 0


def _count(name: str) -> None:
    with _lock:
        setattr(_stats, name, getattr(_stats, name) + 1)


# --------------------------------------------------------------------------------------------------------
# Keys


def _reduction_token(agg_fn: Any) -> tuple | None:
    import datashader.reductions as rd

    name = type(agg_fn).__name__
    if type(agg_fn) is not getattr(rd, name, None) or name not in _CACHEABLE_REDUCTIONS:
        return None
    column = agg_fn.column
    if column is not None and not isinstance(column, str):
        return None  # e.g. the row-index SpecialColumn
    return (name, column, getattr(agg_fn, "self_intersect", None))


def aggregate_key(data_key: str, glyph: str, x: str, y: str, agg_fn: Any, canvas: Any, line_width: Any = 0):
    """Key of one Datashader aggregate, or None when it cannot be keyed stably."""
    reduction = _reduction_token(agg_fn)
    if reduction is None:
        return None
    try:
        return combine(
            data_key,
            "datashader-aggregate",
            AGGREGATE_VERSION,
            glyph,
            x,
            y,
            reduction,
            tuple(canvas.x_range),
            tuple(canvas.y_range),
            int(canvas.plot_width),
            int(canvas.plot_height),
            type(canvas.x_axis).__name__,
            type(canvas.y_axis).__name__,
            line_width if glyph == "line" else 0,
        )
    except Unhashable:
        return None


# --------------------------------------------------------------------------------------------------------
# The stored form of an aggregate: a frame the stage store (and its Arrow-serialising second tier) can hold


def grid_to_frame(grid: xr.DataArray) -> pd.DataFrame:
    """One row per y bin, one column per x bin; the bin centres are the index and the column labels."""
    ydim, xdim = grid.dims
    return pd.DataFrame(
        grid.values,
        index=pd.Index(grid.coords[ydim].values, name=ydim),
        columns=pd.Index(grid.coords[xdim].values, name=xdim),
    )


def frame_to_grid(frame: pd.DataFrame, canvas: Any) -> xr.DataArray:
    """The DataArray Datashader returned, rebuilt from :func:`grid_to_frame`'s frame and the canvas."""
    ydim, xdim = frame.index.name, frame.columns.name
    # A copy: the store hands out read-only buffers, and shading may write into the grid it is given.
    values = np.array(frame.to_numpy(), copy=True)
    return xr.DataArray(
        values,
        dims=(ydim, xdim),
        coords={xdim: frame.columns.to_numpy(), ydim: frame.index.to_numpy()},
        attrs={"x_range": canvas.x_range, "y_range": canvas.y_range},
    )


# --------------------------------------------------------------------------------------------------------
# The operation


class CachedAggregate(hv_datashader.aggregate):
    """HoloViews' ``aggregate``, reading and writing the Datashader result through the stage store."""

    def _process(self, element, key=None):
        # rasterize makes a fresh instance of this operation per call, so the attribute is per call too.
        self._lumen_ext_data_key = getattr(element, DATA_KEY_ATTR, None)
        return super()._process(element, key)

    def _apply_datashader(self, dfdata, cvs_fn, agg_fn, x, y, agg_state):
        data_key = getattr(self, "_lumen_ext_data_key", None)
        store = runtime.active_store()
        if data_key is None or store is None:
            return super()._apply_datashader(dfdata, cvs_fn, agg_fn, x, y, agg_state)
        canvas = cvs_fn.__self__
        key = None
        if agg_state is hv_datashader.AggState.AGG_ONLY:
            key = aggregate_key(data_key, cvs_fn.__name__, x.name, y.name, agg_fn, canvas, self.p.line_width)
        if key is None:
            _count("uncached")
            return super()._apply_datashader(dfdata, cvs_fn, agg_fn, x, y, agg_state)
        cached = store.get(key)
        if cached is not None:
            _count("hits")
            return frame_to_grid(cached, canvas)
        grid = super()._apply_datashader(dfdata, cvs_fn, agg_fn, x, y, agg_state)
        _count("aggregations")
        if isinstance(grid, xr.DataArray) and grid.ndim == 2:
            store.put(key, grid_to_frame(grid))
        return grid


def _tag_elements(plot: Any, frame: Any, data_key: str) -> int:
    """Tag the Points/Scatter elements wrapping ``frame`` in the DynamicMap chain hvPlot returned."""
    tagged, pending, seen = 0, [plot], set()
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, DynamicMap):
            pending.extend(getattr(obj.callback, "inputs", []))
        elif isinstance(obj, Points | Scatter) and obj.data is frame:
            # Only the element holding the very frame the key describes: hvPlot's groupby/by paths build
            # other elements from slices of it, and those stay uncached.
            setattr(obj, DATA_KEY_ATTR, data_key)
            tagged += 1
    return tagged


def cached_aggregate_get_plot(original: Any, settings: Any) -> Any:
    """``hvPlotView.get_plot`` that tags a rasterized view's elements with its frame's key, so
    :class:`CachedAggregate` can key the aggregate (chains to whatever ``get_plot`` the table composed before)."""

    @functools.wraps(original)
    def get_plot_with_cached_aggregate(self, df):
        plot = original(self, df)
        if not (self.datashade or self.kwargs.get("rasterize")) or runtime.active_store() is None:
            return plot
        data_key = frame_key(self)
        if data_key is not None:
            _tag_elements(plot, df, data_key)
        return plot

    return get_plot_with_cached_aggregate


def cached_aggregate_transforms(original: list, settings: Any) -> list:
    """``rasterize._transforms`` with HoloViews' point aggregation swapped for :class:`CachedAggregate`."""
    return [
        (
            predicate,
            CachedAggregate if op is hv_datashader.aggregate and predicate in (Points, Scatter) else op,
        )
        for predicate, op in original
    ]
