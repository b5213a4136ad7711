"""Recording one HoloViews update of a plot: the Bokeh properties it changed (document events) and those it set
(:func:`noting_setattr`, installed by the hooks table), for :mod:`lumen_ext.views.drawings` to keep."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lumen_ext import hooks
from lumen_ext.views.drawing_values import Unrecordable

__all__ = ["TRANSIENT", "Update", "noting_setattr", "recording"]

# HoloViews sets a Figure's ``hold_render`` around every update and back: never a drawing's business.
TRANSIENT = frozenset({"hold_render"})


@dataclass
class Update:
    """What one HoloViews update did: the properties it changed (document events) and those it set."""

    changed: list[tuple[Any, str]] = field(default_factory=list)
    set: list[tuple[Any, str]] = field(default_factory=list)


# The update being recorded on this thread, if any (HoloViews updates a plot synchronously, on one thread).
_active = threading.local()


def noting_setattr(original: Any, settings: Any) -> Any:
    """``HasProps.__setattr__`` that notes the properties set on Bokeh models while an update is recorded.

    Bokeh sends no event for a property set to the value it has, but HoloViews sets a framewise plot's ranges on
    every update: a range that kept its value in the updates seen so far is still HoloViews' to set, and a drawing
    must hold it. Without this, each such property would be learnt late and make the drawings before it stale.
    """

    def __setattr__(self: Any, name: str, value: Any) -> None:
        update = getattr(_active, "update", None)
        if update is not None and not name.startswith("_"):
            update.set.append((self, name))
        original(self, name, value)

    return __setattr__


@contextlib.contextmanager
def recording(document: Any) -> Iterator[Update]:
    """What the code run meanwhile on this thread set and changed in ``document``; Unrecordable for any event
    other than a property change."""
    from bokeh.document.events import (
        ColumnDataChangedEvent,
        ColumnsPatchedEvent,
        ColumnsStreamedEvent,
        ModelChangedEvent,
    )

    if document is None:
        raise Unrecordable("the plot is in no document")
    update = Update()
    odd: list[str] = []
    callbacks = document.callbacks
    trigger = callbacks.trigger_on_change  # the bound method, or an enclosing use's wrapper

    def noting(event: Any) -> None:
        if isinstance(event, ColumnDataChangedEvent | ColumnsPatchedEvent | ColumnsStreamedEvent):
            update.changed.append((event.model, "data"))
        elif isinstance(event, ModelChangedEvent):
            if event.attr not in TRANSIENT:
                update.changed.append((event.model, event.attr))
        else:
            odd.append(type(event).__name__)
        trigger(event)

    outer = getattr(_active, "update", None)
    _active.update = update
    try:
        with hooks.shadow("views.drawings.document-events", callbacks, noting):
            yield update
    finally:
        _active.update = outer
    if odd:
        raise Unrecordable(f"the update sent {', '.join(sorted(set(odd)))}")
