"""Draw a frame a plot has drawn before without HoloViews: set the Bokeh values HoloViews gave it last time.

A patched update (:mod:`lumen_ext.views.patching`) still has HoloViews redraw the plot: ``update_frame`` turns the
frame into glyph data, ranges, factors and colour mappings, and for a grouped bar chart of a dozen rows that is
20-30 ms, most of a cached repeat's server time (``bench/bench_cache.py``). The result is a function of the frame and
the plot's options. So when HoloViews draws a frame, :func:`send` notes which Bokeh properties its update changed
and keeps their final values (a *drawing*, under the frame's plot-memo key); when the same frame comes again, on
this plot or on another session's, the values are set on the models directly and HoloViews is not asked.

When is that exactly what HoloViews would have drawn? Plots are grouped in *lineages*: the plots HoloViews
initialised from the same HoloViews object (one plot-memo key: the same frame, element types and options), which
therefore start with the same property values. For each lineage this module keeps the set of properties (a path
from the Figure to a model, and a property name) that any HoloViews update of any of its plots changed, and a
drawing holds the values of *all* of them:

* a property in the set gets the value HoloViews gave it for this frame;
* a property outside it was never changed by an update in the lineage, so it still has its initial value, on the
  plot the drawing was made on as on the plot it is replayed on.

A drawing made before the set grew lacks a property: it is not replayed, and HoloViews draws that frame again (and
it is recorded anew). A plot leaves its lineage, and is drawn by HoloViews from then on, when one of its updates
cannot be recorded: the update attached or detached models or set a property to a model, changed a model outside
the plot's Figure, failed, or the plot's pane draws into several documents (one ``Pipe`` updates them all).
Properties a browser sets (a zoom, a legend click) are not part of a drawing unless HoloViews sets them on its
updates too, as it does with the ranges of a framewise plot.

After a replay the HoloViews plot still holds the previous frame, so it is told to forget it (``previous_id``:
HoloViews skips the data of a frame it believes is on screen already) and the ``Pipe`` holds the new one, for a
pane that renders the plot again.

This module keeps the lineages and their drawings; :mod:`~lumen_ext.views.drawing_updates` records what one
HoloViews update did, :mod:`~lumen_ext.views.drawing_values` copies property values off a plot and back on, and
:mod:`~lumen_ext.views.figure_paths` names a model by its place in the Figure.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from lumen_ext.cache.lru import LRU
from lumen_ext.views.drawing_updates import TRANSIENT, Update, recording
from lumen_ext.views.drawing_values import (
    Default,
    Ref,
    Unrecordable,
    attached,
    current,
    detached,
    equal,
    holds,
    nbytes_of,
)
from lumen_ext.views.figure_paths import ModelPath, model_paths, models_in, property_names

__all__ = ["DrawingMemo", "DrawingStats", "memo", "send"]

log = logging.getLogger("lumen_ext.views")

# Attribute on a HoloViews plot holding its Link.
LINK_ATTR = "_lumen_ext_drawing"

_serials = itertools.count()


@dataclass(eq=False)
class Lineage:
    """Plots initialised from one HoloViews object, and every property their HoloViews updates changed."""

    serial: int = field(default_factory=lambda: next(_serials))
    changed: dict[tuple[ModelPath, str], None] = field(default_factory=dict)  # an insertion-ordered set


@dataclass(eq=False)
class Link:
    """A plot's membership of a lineage (``lineage`` None: it left, HoloViews alone draws it)."""

    lineage: Lineage | None
    models: dict[ModelPath, Any] = field(default_factory=dict)  # resolved on this plot
    # model id -> (path, type name), found on its first recording
    paths: dict[str, tuple[ModelPath, str]] | None = None


@dataclass(frozen=True)
class Drawing:
    version: int  # the size of the lineage's set of changed properties when it was recorded
    values: tuple[
        tuple[ModelPath, str, str, Any], ...
    ]  # (path, type name, property, value), data sources first
    nbytes: int


@dataclass
class DrawingStats:
    replays: int = 0
    recordings: int = 0
    misses: int = 0  # a frame with no drawing for the plot's lineage
    stale: int = 0  # a drawing older than its lineage's set of changed properties
    left: int = 0  # plots HoloViews alone draws from then on (left their lineage, or never joined one)
    evictions: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class DrawingMemo:
    """Lineages and their drawings; the drawings in an LRU bounded by the bytes of the values they hold."""

    def __init__(self, max_bytes: int = 64 * 1024**2, max_lineages: int = 4096):
        self.max_bytes = max_bytes
        self.max_lineages = max_lineages
        # A lineage dropped from here lives on in its plots' Links; a plot joining later starts a new one.
        self._lineages: LRU[str, Lineage] = LRU(max_entries=max_lineages)
        # By (lineage serial, frame key).
        self._drawings: LRU[tuple[int, str], Drawing] = LRU(max_bytes=max_bytes)
        # Guards what spans the two LRUs and the lineages' sets of changed properties.
        self._lock = threading.Lock()
        self._counts = DrawingStats()  # all but evictions, which the drawings' LRU counts

    def link(self, plot: Any) -> Link | None:
        return getattr(plot, LINK_ATTR, None)

    def join(self, plot: Any, lineage_key: str) -> Link:
        with self._lock:
            lineage = self._lineages.get(lineage_key)
            if lineage is None:
                lineage = Lineage()
                self._lineages.put(lineage_key, lineage)
        link = Link(lineage)
        setattr(plot, LINK_ATTR, link)
        return link

    def leave(self, plot: Any) -> None:
        link = self.link(plot)
        if link is None or link.lineage is not None:
            setattr(plot, LINK_ATTR, Link(None))
            with self._lock:
                self._counts.left += 1

    def replay(self, plot: Any, link: Link, key: str) -> bool:
        """Set the drawing of frame ``key`` on ``plot``; False (nothing set) when there is none to set."""
        scoped = (link.lineage.serial, key)
        with self._lock:
            drawing = self._drawings.peek(scoped)
            if drawing is None:
                self._counts.misses += 1
                return False
            if drawing.version != len(link.lineage.changed):
                self._counts.stale += 1
                return False
            self._drawings.get(scoped)  # a drawing replayed is recently used; a stale one is not

        def resolve(ref: Ref) -> Any:
            return _resolve(plot, link, ref.path, ref.type_name)

        try:
            targets = [
                (_resolve(plot, link, path, type_name), name, attached(value, resolve))
                for path, type_name, name, value in drawing.values
            ]
        except Unrecordable:
            self.leave(plot)
            return False
        for model, name, value in targets:  # data sources first, as lumen_ext.views.event_order sends them
            if isinstance(value, Default):
                # HoloViews left it at (or set it to) its default on the recorded plot: so it is here, unless an
                # earlier frame set it.
                if not holds(model, name):
                    continue
                value = value.value
            # Most of what HoloViews sets keeps its value (glyph styles, axis labels): Bokeh would validate each
            # value before finding it unchanged, a tenth of a millisecond apiece.
            if not equal(current(model, name), value):
                setattr(model, name, value)
        with self._lock:
            self._counts.replays += 1
        return True

    def record(self, plot: Any, link: Link, key: str | None, update: Update) -> None:
        """Add what HoloViews' update of ``plot`` set to its lineage, and keep the drawing of frame ``key``."""
        if link.paths is None:
            link.paths = model_paths(plot.state)
        places = []
        for model, name in update.changed:
            place = link.paths.get(model.id)
            if place is None:
                raise Unrecordable(f"{type(model).__name__} is not a model of the plot's Figure")
            places.append((place, name))
        for model, name in update.set:
            place = link.paths.get(model.id)
            # A model outside the plot was made and dropped by the update (one it attached changed the plot's
            # references, which is recorded as such).
            if place is not None and name in property_names(type(model)) and name not in TRANSIENT:
                places.append((place, name))
        lineage = link.lineage
        with self._lock:
            for (path, _), name in places:
                lineage.changed[(path, name)] = None
            wanted = list(lineage.changed)
        type_names = {path: type_name for path, type_name in link.paths.values()}
        values, nbytes = [], 0
        for path, name in wanted:
            model = _resolve(plot, link, path, type_names.get(path, ""))
            try:
                value = detached(getattr(model, name), link.paths)
            except Unrecordable as reason:
                raise Unrecordable(f"{type(model).__name__}.{name}: {reason}") from None
            if not holds(model, name):
                value = Default(value)
            values.append((path, type(model).__name__, name, value))
            nbytes += nbytes_of(value)
        values.sort(key=lambda item: item[2] != "data")  # stable: data sources first, then in order of change
        if key is None or nbytes > self.max_bytes // 4:
            return
        with self._lock:
            if len(lineage.changed) != len(wanted):  # another plot of the lineage grew the set meanwhile
                return
            self._drawings.put((lineage.serial, key), Drawing(len(wanted), tuple(values), nbytes), nbytes)
            self._counts.recordings += 1

    @property
    def stats(self) -> DrawingStats:
        """A snapshot of the counters."""
        with self._lock:
            return dataclasses.replace(self._counts, evictions=self._drawings.stats().evictions)

    def clear(self) -> None:
        with self._lock:
            self._lineages.clear(reset_stats=True)
            self._drawings.clear(reset_stats=True)
            self._counts = DrawingStats()

    def __len__(self) -> int:
        return len(self._drawings)

    @property
    def nbytes(self) -> int:
        return self._drawings.nbytes


# The process's drawings, shared by the sessions whose plots belong to the same lineage.
memo = DrawingMemo()


def send(
    pipe: Any, frame: Any, key: str | None, plots: list[Any], lineage_key: str | None, fresh: bool
) -> bool:
    """Put ``frame`` on the pane's HoloViews ``plots``: replayed if it was drawn before in their lineage, else by
    HoloViews (``pipe.send``) and recorded. True when replayed.

    ``key`` is the frame's plot-memo key, ``lineage_key`` the key of the frame the pane's plot was initialised
    from, and ``fresh`` whether the pipe has sent nothing since (a plot first seen later may have been initialised
    from a later frame, so it joins no lineage).
    """
    plot = plots[0] if len(plots) == 1 else None
    link = memo.link(plot) if plot is not None else None
    if plot is not None and link is None and fresh and lineage_key is not None:
        # A Bokeh theme gives unset properties other defaults: plots in differently themed documents (a viewer's
        # dark mode) start from different values.
        link = memo.join(plot, f"{lineage_key}:{_theme_digest(plot.state.document)}")
    if link is None or link.lineage is None:
        for each in plots:
            memo.leave(each)
        pipe.send(frame)
        return False
    if key is not None and memo.replay(plot, link, key):
        pipe.update(data=frame)  # what the pane renders if it draws this plot again
        pipe._on_trigger()  # a DynamicMap memoizes by the Pipe's trigger count
        for each in plot.traverse(lambda p: p):
            each.handles.pop("previous_id", None)
        return True
    try:
        with recording(plot.state.document) as update:
            pipe.send(frame)
        memo.record(plot, link, key, update)
    except Unrecordable as reason:
        log.debug("plot %s leaves its lineage: %s", plot, reason)
        memo.leave(plot)
    except BaseException:
        memo.leave(plot)
        raise
    return False


def _theme_digest(document: Any) -> str:
    import hashlib
    import json

    theme = getattr(document, "theme", None)
    spec = getattr(theme, "_json", None)
    text = json.dumps(spec, sort_keys=True, default=repr) if spec is not None else type(theme).__name__
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _resolve(plot: Any, link: Link, path: ModelPath, type_name: str) -> Any:
    model = link.models.get(path)
    if model is None:
        model = plot.state
        for name, i in path:
            held = models_in(getattr(model, name, None))
            if i >= len(held):
                raise Unrecordable(f"no model at {path}")
            model = held[i]
        if type(model).__name__ != type_name:
            raise Unrecordable(f"{type(model).__name__} at {path}, not {type_name}")
        link.models[path] = model
    return model
