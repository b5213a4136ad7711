"""hvPlot views that patch new data into the plot on screen instead of rebuilding it.

Lumen 1.4 answers every change of a pipeline's data by building a new HoloViews object and handing it to the
view's ``pn.pane.HoloViews``, which builds a whole new Bokeh Figure and sends it to the browser as a new model
tree (views/base.py, ``hvPlotView._get_params`` and ``View._update_panel``). Lumen's own ``streaming: true``
shows the cheaper way: a HoloViews ``Pipe`` stream whose ``send`` makes HoloViews update the existing plot, which
patches the ColumnDataSources, ranges and colour mappers in place.

The hooks table replaces ``hvPlotView._get_params`` with :func:`patching_get_params` (site-packages is not edited) so that every hvPlot view does
this whenever it is correct. The new HoloViews object is still built by Lumen's own ``get_plot``, with every
option the spec gives, exactly as a rebuild would; only when it differs from the plot on screen in its data alone
(:mod:`lumen_ext.views.signature`: same element types, overlay keys, dimensions and options) is it sent through the
view's ``Pipe``. Anything else is Lumen's rebuild, unchanged:

* the plot's structure changed: another kind, columns or option, a ``by`` category appearing or disappearing
  (a legend entry and a colour each), a data-dependent dimension or option;
* objects HoloViews draws through operations or streams: ``datashade``/``rasterize`` (the Datashader views have
  their own path), ``operations``, ``groupby`` widgets, ``streaming`` (Lumen's own Pipe);
* Lumen's linked selections (``selection_group`` without lumen-ext's crossfilter, or a ``selection_expr`` filter):
  their streams are rebuilt with the plot (:mod:`~lumen_ext.views.crossfilter` views patch like any other);
* ``geo`` plots, overlays of several views (``hv_overlay``) and element types not known to redraw correctly;
* an overlay (e.g. ``by``) with ``shared_axes: false``: HoloViews would keep its first ranges on an update;
* a frame with an empty element (HoloViews would keep drawing its old rows), and the frame after it (a plot drawn
  without rows has axes chosen without data: a bar chart's factor axis is numeric).

Patched plots carry ``framewise=True`` so that, as after a rebuild, their axis ranges follow the new data, and a
patch's data changes are sent before its range changes (:mod:`lumen_ext.views.event_order`), so that a bar chart can
gain or lose bars without BokehJS mapping old rows with new factors.
Table views need nothing here: Lumen already updates the Tabulator's ``value`` in place.

What a patch costs, and what is skipped when it is safe to (``bench/bench_cache.py`` measures it):

* hvPlot building the HoloViews object: skipped for a state seen before, in any session of the process, by the
  content-keyed :mod:`~lumen_ext.views.plot_memo` (the stage cache's key of the frame plus the view's parameters);
* HoloViews drawing the frame (``update_frame``: glyph data, ranges, factors): skipped for a frame a plot of the
  same lineage drew before (same initial HoloViews object), in any session of the process, whose Bokeh values
  :mod:`~lumen_ext.views.drawings` recorded then and sets now;
* Bokeh re-collecting every model of the document after HoloViews' update: skipped when the update attached or
  detached no model (:mod:`~lumen_ext.views.model_graph`), which is the usual case for a patch.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from lumen_ext.views import crossfilter, drawings
from lumen_ext.views.event_order import data_changes_first
from lumen_ext.views.model_graph import recompute_only_if_changed
from lumen_ext.views.plot_memo import Entry, PlotMemo, plot_key
from lumen_ext.views.signature import signature

__all__ = [
    "PatchState",
    "building_get_panel",
    "forget_plots",
    "memo",
    "patch_state",
    "patching_get_params",
    "rebuild_reason",
]

log = logging.getLogger("lumen_ext.views")


# Attribute on an hvPlotView holding its PatchState.
STATE_ATTR = "_lumen_ext_patch"

# The process's built HoloViews objects, shared by the sessions whose views are in the same state.
memo = PlotMemo()


@dataclass
class PatchState:
    """The Pipe behind one view's plot, and what happened on its updates."""

    dmap: Any = field(default=None, repr=False)
    pipe: Any = field(default=None, repr=False)
    signature: tuple | None = field(default=None, repr=False)
    patches: int = 0
    rebuilds: int = 0
    building: int = 0  # > 0 while get_panel runs: it needs a whole plot, never a patch
    last: str = ""  # "patched", or why the last update rebuilt
    # The plot on screen was built from a frame with an empty element: HoloViews chose its axes without data (a bar
    # chart's factor axis becomes numeric), so the next frame must be a new plot too.
    drawn_empty: bool = False
    memo_hits: int = 0
    replays: int = 0  # patches set from a drawing (lumen_ext.views.drawings) instead of drawn by HoloViews
    builds: int = 0  # HoloViews objects hvPlot built for this view (memo misses and uncacheable states)
    # Names the view in the memo, for objects that must stay with it (never an id(): ids are reused).
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    history: list[str] = field(default_factory=list)
    # The plot-memo key of the frame the plot on screen was initialised from (its drawings' lineage), and the
    # patches sent since.
    lineage: str | None = field(default=None, repr=False)
    sends: int = 0

    def record(self, outcome: str) -> None:
        self.last = outcome
        self.history.append(outcome)
        del self.history[:-20]  # bounded: a long session must not grow it


def forget_plots() -> None:
    """Drop the process's memo of built plots and drawings (when the hooks are disabled, and between tests)."""
    memo.clear()
    drawings.memo.clear()


def patch_state(view: Any) -> PatchState | None:
    """The view's patching record (None when it never went through this module)."""
    return getattr(view, STATE_ATTR, None)


def rebuild_reason(view: Any) -> str | None:
    """Why this view cannot be patched at all, whatever its data, or None when it may be."""
    if view.streaming:
        return "streaming (Lumen's own Pipe)"
    if view.datashade or view.kwargs.get("rasterize") or view.kwargs.get("datashade"):
        return "datashade/rasterize"
    if view.operations:
        return "operations"
    if view.groupby:
        return "groupby widgets"
    if view.geo:
        return "geo"
    if crossfilter.manages(view):
        return None  # a brush is a filter on other views' pipelines: their plots patch like after any filter
    if view.selection_group or view._ls is not None or "selection_expr" in view.param.watchers:
        return "linked selections"
    return None


def _state(view: Any) -> PatchState:
    state = patch_state(view)
    if state is None:
        state = PatchState()
        setattr(view, STATE_ATTR, state)
    return state


def building_get_panel(original: Any, settings: Any) -> Any:
    def get_panel(self) -> Any:
        """``hvPlotView.get_panel``, marked as building a new pane.

        Reading the data can re-enter the view: a pipeline computing lazily fires its ``data`` event from inside
        ``get_data``, and the nested update may put a pane (and a patchable plot) on screen before the outer
        ``get_panel`` resumes. The outer call must still get a whole plot for the pane it is creating.
        """
        state = _state(self)
        state.building += 1
        try:
            return original(self)
        finally:
            state.building -= 1

    return get_panel


def patching_get_params(original: Any, settings: Any) -> Any:
    def _get_params(self) -> dict[str, Any]:
        """``hvPlotView._get_params`` that patches the current plot when only its data changed.

        Called by ``get_panel`` (a new pane) and by ``View._update_panel`` on every update, which applies the
        returned params to the existing pane: an empty dict leaves the pane, and so the Bokeh Figure, in place.
        """
        state = _state(self)
        reason = rebuild_reason(self)
        if reason is not None:
            state.signature = state.dmap = state.pipe = None
            return _rebuild(self, state, original(self), reason)

        plot, new_signature, key = _plot_for(self, state)
        if new_signature is None:
            state.signature = state.dmap = state.pipe = None
            return _rebuild(self, state, dict(object=plot), f"{type(plot).__name__} is not patchable")

        if _overlay_without_shared_axes(plot):
            state.signature = state.dmap = state.pipe = None
            return _rebuild(self, state, dict(object=plot), "overlay with shared_axes=False")

        on_screen = self._panel is not None and state.dmap is not None and self._panel.object is state.dmap
        empty = _has_empty_element(plot)
        patchable = new_signature == state.signature and not empty and not state.drawn_empty
        if on_screen and not state.building and patchable:
            # HoloViews redraws the same plot with the new frame: patches, no new models (so no model walk either).
            documents = [model.document for model, _ in self._panel._models.values()]
            plots = [hv_plot for hv_plot, _ in self._panel._plots.values()]
            with recompute_only_if_changed(documents), data_changes_first(documents):
                replayed = drawings.send(state.pipe, plot, key, plots, state.lineage, fresh=state.sends == 0)
            # No plot drawn yet (Lumen may ask while it builds the pane): nothing was sent to one.
            state.sends += bool(plots)
            state.replays += replayed
            state.patches += 1
            state.record("patched")
            return {}

        from holoviews import DynamicMap
        from holoviews.streams import Pipe

        state.pipe = Pipe(data=plot)
        # cache_size=1: a stream-only DynamicMap has one key, so older frames would only hold memory.
        state.dmap = DynamicMap(_identity, streams=[state.pipe], cache_size=1)
        if self._panel is None or state.building:
            reason = "first render"
        elif not on_screen:
            reason = "the plot on screen is not a patchable one"
        elif empty:
            reason = "an element has no rows"
        elif state.drawn_empty:
            reason = "the plot on screen was drawn from an empty frame"
        else:
            reason = "plot structure changed"
        state.signature = new_signature
        state.drawn_empty = empty
        state.lineage, state.sends = key, 0
        return _rebuild(self, state, dict(object=state.dmap), reason)

    return _get_params


def _plot_for(view: Any, state: PatchState) -> tuple[Any, tuple | None, str | None]:
    """The framewise HoloViews object for the view's current data, its signature and its plot-memo key (None when
    it has none), from the memo if seen."""
    df = view.get_data()
    key = plot_key(view)  # after get_data: a pipeline computing lazily records its key there
    if key is not None:
        entry = memo.get(key, state.owner)
        if entry is not None:
            state.memo_hits += 1
            return entry.plot, entry.signature, key
    plot = _framewise(view.get_plot(df))
    state.builds += 1
    plot_signature = signature(plot)
    if key is None or plot_signature is None or not hasattr(df, "memory_usage"):
        memo.note_uncacheable()  # no content key, not patchable, or a frame whose size is not known
    else:
        nbytes = int(df.memory_usage(index=True, deep=False).sum())
        memo.put(key, state.owner, Entry(plot, plot_signature, nbytes))
    return plot, plot_signature, key


def _rebuild(view: Any, state: PatchState, params: dict[str, Any], reason: str) -> dict[str, Any]:
    state.rebuilds += 1
    state.record(reason)
    log.debug("view %s rebuilds its plot: %s", view.name, reason)
    return params


def _overlay_without_shared_axes(plot: Any) -> bool:
    """HoloViews treats an overlay's axes as "axiswise" without ``shared_axes`` and then never recomputes its ranges
    on a DynamicMap update (plotting/plot.py, ``compute_ranges``): its axes would keep the first data's extents."""
    from holoviews import NdOverlay, Overlay, Store

    if not isinstance(plot, Overlay | NdOverlay):
        return False
    return Store.lookup_options("bokeh", plot, "plot").kwargs.get("shared_axes", True) is False


def _has_empty_element(plot: Any) -> bool:
    """Whether any element of ``plot`` has no rows (e.g. a ``by`` group the filter emptied, in a facet).

    HoloViews skips an empty element when it updates a plot, so its glyphs would keep drawing the previous
    frame's data (seen on the corpus precipitation facets); a rebuild draws it empty, as Lumen does.
    """
    from holoviews import Element

    elements = plot.traverse(lambda e: e, [Element])
    return not elements or any(len(element) == 0 for element in elements)


def _identity(data):
    return data


def _framewise(plot: Any) -> Any:
    """``plot`` with every element normalised per frame, so a patched plot's ranges follow its new data.

    A single frame is normalised the same way either way, so the first render is what Lumen draws.
    """
    from holoviews import Element, NdOverlay, Overlay

    if isinstance(plot, Element):
        return plot.opts(framewise=True, clone=True)
    if isinstance(plot, Overlay | NdOverlay):
        # The overlay's own plot decides its axes: it needs the option as much as its layers.
        plot = plot.map(lambda element: element.opts(framewise=True, clone=True), Element)
        return plot.opts(framewise=True, clone=True)
    return plot
