"""Crossfilter (linked brushing) computed in DuckDB: a brush is a filter on the other views' pipelines.

Lumen 1.4 links the views of a ``selection_group`` with HoloViews' ``link_selections``: every view's plot is
wrapped so that a selection re-evaluates an expression in pandas over the view's whole frame, once per view and
brush step (unusable at ten million rows, and it needs every row in the server's memory). lumen-ext keeps the spec
(``selection_group`` on views, the brush tool in hvPlot's own ``tools``) and changes what a brush does:

* a view with a brush tool (``xbox_select``: an interval on x; ``box_select``: intervals on x and y; ``tap``: the
  categories clicked) owns one :class:`BrushFilter` per brushed field in the pipeline of every *other* view of its
  group (crossfilter semantics: a view is never filtered by its own brush);
* a brush step sets those filters' values and recomputes those pipelines, so the predicate reaches the source like
  any filter: in the SQL ``WHERE`` of a DuckDB source, through lumen-ext's stage cache (a state seen before is a
  cache hit) and its rollup cubes (a pipeline whose brushed fields have few values is answered from a cube of the
  table grouped by its keys and those fields: Mosaic's pre-aggregated index, built once in the background);
* the views redraw as after any filter change: hvPlot views patch their Figure in place
  (:mod:`lumen_ext.views.patching`), Datashader views re-aggregate the selected rows only.

The brush is read from the Bokeh Figure's ``SelectionGeometry`` event (what BoxSelectTool and TapTool send at the
end of a gesture) and mapped from the axes' coordinates to column values by :mod:`lumen_ext.views.brush_values`.
``Reset`` (the reset tool) clears the view's brush.

Which views a group links is per session (a Bokeh document), like Lumen's own ``link_selections`` instances.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, ClassVar

import param
from lumen.filters.base import Filter

from lumen_ext.views.brush_values import brush_value

__all__ = [
    "BRUSH_TOOLS",
    "BrushFilter",
    "Group",
    "brush_fields",
    "brush_kind",
    "group_of",
    "joining_init_link_selections",
    "linking_plot",
    "manages",
]

log = logging.getLogger("lumen_ext.views")

# hvPlot's tool names that make a view a brush, and the kind of brush each draws.
BRUSH_TOOLS = {"xbox_select": "x", "box_select": "xy", "tap": "point"}

# Attribute on a View: the crossfilter Group it joined (None when it never did).
GROUP_ATTR = "_lumen_ext_crossfilter"
# Attribute on a Bokeh Figure whose selection events already reach this module.
_WATCHED_ATTR = "_lumen_ext_brush_watched"


class BrushFilter(Filter):
    """One view's brush on one field, applied to another view's pipeline: no widget, no spec type.

    ``value`` is what Lumen's filters give a source: a ``(low, high)`` tuple for an interval (inclusive), a list
    for a set of categories, or None for no brush.
    """

    filter_type: ClassVar[str | None] = None

    # A rollup cube's dimension only while the brush is set (lumen_ext.cache.rollup_stage.filter_fields).
    dimension_when_set: ClassVar[bool] = True

    # The pipeline the filter is in (a weak reference: the session owns pipelines).
    _pipeline: Any = None

    # The brushing view's name, for `lumen-ext explain` and logs.
    brush_of = param.String(default=None)

    @property
    def query(self) -> Any:
        return self.value

    @property
    def panel(self) -> None:
        return None

    @property
    def _sync_with_url(self) -> bool:
        return False  # a brush is not page state to put in the URL: a reload starts unbrushed


def brush_kind(tools: Any) -> str | None:
    """The brush a view's ``tools`` option declares: ``x``, ``xy``, ``point`` or None (a linked view only)."""
    if isinstance(tools, str):
        tools = [tools]
    kinds = [BRUSH_TOOLS[t] for t in tools or () if isinstance(t, str) and t in BRUSH_TOOLS]
    return kinds[0] if len(kinds) == 1 else None


def brush_fields(kind: str | None, x: Any, y: Any) -> tuple[str, ...]:
    """The columns a brush of ``kind`` constrains, on a view plotting ``x`` against ``y``."""
    if kind in ("x", "point"):
        return (x,) if isinstance(x, str) else ()
    if kind == "xy":
        return (x, y) if isinstance(x, str) and isinstance(y, str) else ()
    return ()


@dataclass
class Brush:
    """A brushing view, its fields, and the filters it owns in the other views' pipelines."""

    kind: str
    fields: tuple[str, ...]
    filters: list[BrushFilter] = field(default_factory=list)
    value: dict[str, Any] = field(default_factory=dict)


class Group:
    """The views of one ``selection_group`` in one session, and the brushes among them."""

    def __init__(self, name: str):
        self.name = name
        self.views: list[Any] = []
        self.brushes: dict[int, Brush] = {}  # id(view) -> its brush; the view is in self.views

    def join(self, view: Any) -> None:
        if any(v is view for v in self.views):
            return
        kind = brush_kind(view.kwargs.get("tools")) if hasattr(view, "kwargs") else None
        fields = brush_fields(kind, getattr(view, "x", None), getattr(view, "y", None))
        # Existing brushes reach the newcomer's pipeline.
        for other in self.views:
            brush = self.brushes.get(id(other))
            if brush is not None:
                self._add_filters(other, brush, view.pipeline)
        self.views.append(view)
        setattr(view, GROUP_ATTR, self)
        if kind is not None and fields:
            brush = Brush(kind, fields)
            self.brushes[id(view)] = brush
            for other in self.views:
                if other is not view:
                    self._add_filters(view, brush, other.pipeline)

    def _add_filters(self, owner: Any, brush: Brush, pipeline: Any) -> None:
        """``owner``'s brush filters in ``pipeline``, unless owner draws that pipeline (or already filters it)."""
        if pipeline is None or pipeline is owner.pipeline:
            return
        if any(flt._pipeline() is pipeline for flt in brush.filters):
            return
        for name in brush.fields:
            flt = BrushFilter(field=name, brush_of=owner.name, value=brush.value.get(name))
            flt._pipeline = weakref.ref(pipeline)
            brush.filters.append(flt)
            # Appended in place: assigning `filters` would make Lumen recompute the pipeline now, unbrushed.
            pipeline.filters.append(flt)

    def targets(self, owner: Any) -> list[Any]:
        """The pipelines ``owner``'s brush filters, each once."""
        brush = self.brushes.get(id(owner))
        seen: dict[int, Any] = {}
        for flt in brush.filters if brush else ():
            pipeline = flt._pipeline()
            if pipeline is not None:
                seen.setdefault(id(pipeline), pipeline)
        return list(seen.values())

    def brush(self, owner: Any, value: dict[str, Any] | None) -> list[Any]:
        """Set ``owner``'s brush (None clears it) and recompute the pipelines it filters; returns them."""
        brush = self.brushes.get(id(owner))
        if brush is None:
            return []
        new = {name: (value or {}).get(name) for name in brush.fields}
        new = {name: v for name, v in new.items() if v is not None}
        if new == brush.value:
            return []
        brush.value = new
        for flt in brush.filters:
            flt.value = brush.value.get(flt.field)
        pipelines = self.targets(owner)
        for pipeline in pipelines:
            pipeline._update_data()
        return pipelines

    def owner_of(self, figure: Any) -> Any:
        """The view of this group whose pane draws ``figure``."""
        for view in self.views:
            pane = getattr(view, "_panel", None)
            plots = getattr(pane, "_plots", None) or {}
            if any(getattr(hv_plot, "state", None) is figure for hv_plot, _ in plots.values()):
                return view
        return None


# Attribute on a Bokeh Document (or, outside a server, on the view's pipeline, as Lumen keys its own
# link_selections): group name -> Group. On the document itself rather than in a module-level weak mapping, whose
# values (the views, their panes, their models) would keep every closed session's document alive.
GROUPS_ATTR = "_lumen_ext_crossfilter_groups"


def group_of(view: Any) -> Group | None:
    return getattr(view, GROUP_ATTR, None)


def manages(view: Any) -> bool:
    """Whether this module links ``view`` (so Lumen's ``link_selections`` is not used for it)."""
    return group_of(view) is not None


def _groups_for(owner: Any) -> dict[str, Group]:
    groups = getattr(owner, GROUPS_ATTR, None)
    if groups is None:
        groups = {}
        setattr(owner, GROUPS_ATTR, groups)
    return groups


def joining_init_link_selections(original: Any, settings: Any) -> Any:
    def _init_link_selections(self) -> None:
        """``View._init_link_selections``: join the session's crossfilter group instead of a ``link_selections``.

        Lumen calls it from ``View.__init__`` for a view with a ``selection_group``, and from
        ``hvPlotView._link_plot``; ``selection_expr`` filters (a ``param`` filter on a view) keep Lumen's way.
        """
        if not self.selection_group or self.pipeline is None:
            return original(self)
        if group_of(self) is not None:
            return None
        import panel as pn

        key = pn.state.curdoc or self.pipeline
        groups = _groups_for(key)
        group = groups.get(self.selection_group)
        if group is None:
            group = groups[self.selection_group] = Group(self.selection_group)
        group.join(self)
        return None

    return _init_link_selections


def linking_plot(original: Any, settings: Any) -> Any:
    def _link_plot(self, plot: Any) -> Any:
        """``hvPlotView._link_plot``: a crossfilter view's plot reports its brush gestures; nothing else changes.

        The HoloViews hook is one module-level function, so plots built for one session and reused by another
        (:mod:`lumen_ext.views.plot_memo`) stay correct: the Figure's owner is looked up when an event arrives.
        """
        self._init_link_selections()
        if not manages(self):
            return original(self, plot)
        if self.pipeline is None or id(self) not in group_of(self).brushes:
            return plot
        return plot.opts(hooks=[watch_brushes], clone=True)

    return _link_plot


def watch_brushes(hv_plot: Any, element: Any) -> None:
    """HoloViews plot hook: route the Figure's selection gestures to :func:`_on_selection` (once per Figure)."""
    figure = getattr(hv_plot, "state", None)
    if figure is None or getattr(figure, _WATCHED_ATTR, False):
        return
    from bokeh.events import Reset, SelectionGeometry

    ref = weakref.ref(figure)
    figure.on_event(SelectionGeometry, lambda event: _on_selection(ref, event))
    figure.on_event(Reset, lambda event: _on_selection(ref, None))
    setattr(figure, _WATCHED_ATTR, True)


def _on_selection(figure_ref: weakref.ref, event: Any) -> None:
    figure = figure_ref()
    document = getattr(figure, "document", None)
    if figure is None or document is None:
        return
    if event is not None and not getattr(event, "final", True):
        return  # a gesture in progress (select_every_mousemove): the final event follows
    for group in getattr(document, GROUPS_ATTR, {}).values():
        view = group.owner_of(figure)
        if view is None:
            continue
        brush = group.brushes.get(id(view))
        if brush is None:
            return
        value = None if event is None else brush_value(brush, figure, event.geometry, view.pipeline.data)
        from panel.io.state import set_curdoc

        with set_curdoc(document):
            pipelines = group.brush(view, value)
        log.debug("crossfilter %s: %s brushed %s, %d pipelines", group.name, view.name, value, len(pipelines))
        return
