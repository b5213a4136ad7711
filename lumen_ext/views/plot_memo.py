"""The HoloViews objects hvPlot built for a view, kept under a content key so a repeated state skips hvPlot.

On a patched update the whole cost of a filter state seen before is drawing it: the stage cache hands the frame
over at once, then hvPlot spends tens of milliseconds turning it into the same HoloViews object it built last time.
:class:`PlotMemo` keeps those objects, already made framewise and with their :mod:`~lumen_ext.views.signature`,
under a key made of

* the key of the view's frame: the key the stage cache recorded for the pipeline's current result, chained with
  the view's type and ``limit`` (``View.get_data`` is a pure function of those), and
* every parameter of the view that can reach ``get_plot`` (kind, columns, ``kwargs``, ``opts``, ...),

so two sessions in the same filter state share one object. A HoloViews object is a description, not a drawing:
plotting reads it and builds Bokeh models of its own per document, and nothing in this package writes into it.
The exception is an option whose value *is* a Bokeh model (a ``NumeralTickFormatter`` Lumen makes from a
``*formatter`` string, a ``HoverTool`` given as a tool): HoloViews puts that very model into the Figure, and a
Bokeh model belongs to one document. Such objects are kept for the view that built them only.

Without the stage cache (``--no-cache``) a view's frame has no key and nothing is memoized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lumen_ext.cache.lru import LRU

__all__ = ["MemoStats", "PlotMemo", "frame_key", "holds_bokeh_models", "plot_key", "plotted_params"]

MEMO_VERSION = 1  # bump when what is stored under a key changes

# View parameters that never reach hvPlotView.get_plot: they are left out of the key so they do not split it.
# (Anything else is in the key, so a parameter added by a later Lumen narrows hits, never makes a wrong one.)
_NOT_PLOTTED = frozenset(
    {"name", "pipeline", "selection_expr", "loading_indicator", "download", "controls", "rerender"}
)


def frame_key(view: Any) -> str | None:
    """Key of the frame ``view.get_data()`` returns, or None when its pipeline's data was not computed by the cache.

    ``View.get_data`` is a pure function of ``Pipeline.data`` and the view's ``limit`` (it converts to pandas,
    slices and, for hvPlot views, widens nullable dtypes), so the pipeline's recorded key chained with the limit
    identifies it. The record is trusted only while it still belongs to the pipeline's current data. Also the
    data key of a cached Datashader aggregate (``lumen_ext.views.datashader``).
    """
    from lumen_ext.cache import runtime
    from lumen_ext.cache.hashing import combine

    pipeline = getattr(view, "pipeline", None)
    recorded = getattr(pipeline, runtime.RESULT_ATTR, None)
    if recorded is None or recorded[0] is None or recorded[1] is not pipeline.data:
        return None
    return combine(recorded[0], "view-data", type(view).__name__, view.limit)


def plot_key(view: Any) -> str | None:
    """Key of the HoloViews object ``view.get_plot(view.get_data())`` builds, or None when it has none."""
    from lumen_ext.cache.hashing import Unhashable, combine

    data = frame_key(view)
    if data is None:
        return None
    cls = type(view)
    params = plotted_params(view)
    try:
        return combine(data, "hvplot-object", MEMO_VERSION, f"{cls.__module__}.{cls.__qualname__}", params)
    except Unhashable:  # e.g. a Python object in ``kwargs``: no content key, so no sharing
        return None


def plotted_params(view: Any) -> dict[str, Any]:
    """The view's parameters that can reach ``get_plot``, by name (a new dict)."""
    return {name: value for name, value in view.param.values().items() if name not in _NOT_PLOTTED}


def holds_bokeh_models(obj: Any, backend: str = "bokeh") -> bool:
    """Whether any option of ``obj`` or of its layers is a Bokeh model (which may live in one document only)."""
    from holoviews import Store

    found = False

    def visit(element: Any) -> None:
        nonlocal found
        if found:
            return
        for group in ("plot", "style", "norm"):
            if _contains_model(Store.lookup_options(backend, element, group).kwargs):
                found = True
                return

    obj.traverse(visit)
    return found


def _contains_model(value: Any) -> bool:
    from bokeh.model import Model

    if isinstance(value, Model):
        return True
    if isinstance(value, dict):
        return any(_contains_model(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_model(v) for v in value)
    return False


@dataclass
class MemoStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    uncacheable: int = 0  # builds that had no key (no stage cache, unhashable option, unpatchable plot)

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class Entry:
    plot: Any
    signature: tuple
    nbytes: int  # the frame's size: what the entry keeps alive, at most, beyond the stage cache's own copy


class PlotMemo:
    """An LRU of built HoloViews objects, bounded by the bytes of the frames they hold and by entry count.

    The frames are normally the stage cache's own buffers (views get shallow copies), but an entry keeps its frame
    alive after the cache evicted it, so the budget is kept small and a frame larger than a quarter of it is
    never memoized: a big scatter is rebuilt by hvPlot in time proportional to its size anyway.
    """

    def __init__(self, max_bytes: int = 256 * 1024**2, max_entries: int = 512):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        # (key, None) for an object every view may share, (key, owner) for one kept for its view alone
        self._entries: LRU[tuple[str, str | None], Entry] = LRU(max_entries=max_entries, max_bytes=max_bytes)
        self._uncacheable = 0

    def admits(self, nbytes: int) -> bool:
        return nbytes <= self.max_bytes // 4

    def get(self, key: str, owner: str) -> Entry | None:
        """The entry for ``key`` shared by every view, or the one kept for ``owner`` alone."""
        with self._entries.lock:
            if (key, None) in self._entries:
                return self._entries.get((key, None))
            return self._entries.get((key, owner))  # the one counted lookup of this call, hit or miss

    def put(self, key: str, owner: str, entry: Entry) -> None:
        if not self.admits(entry.nbytes):
            self.note_uncacheable()
            return
        scoped = (key, owner if holds_bokeh_models(entry.plot) else None)
        self._entries.put(scoped, entry, entry.nbytes)

    def note_uncacheable(self) -> None:
        with self._entries.lock:
            self._uncacheable += 1

    @property
    def stats(self) -> MemoStats:
        """A snapshot of the counters."""
        with self._entries.lock:
            counts = self._entries.stats()
            return MemoStats(counts.hits, counts.misses, counts.evictions, self._uncacheable)

    def clear(self) -> None:
        with self._entries.lock:
            self._entries.clear(reset_stats=True)
            self._uncacheable = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._entries.nbytes
