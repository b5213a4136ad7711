"""Send a patched plot's new data before its other changes, so BokehJS never maps old rows with new indices.

HoloViews updates a plot's ranges before its glyphs (``ElementPlot.update_frame``), so a categorical axis gets
its new ``factors`` before the ColumnDataSource gets its new rows, and a served document sends both in that order
in one PATCH-DOC. In the browser the factors change starts the glyph renderer's (asynchronous) ``update_data``
with the view's current row indices; the data change then shortens the columns under it, and when the number of
bars fell BokehJS asserts "Size mismatch" (``BitSet.select``) and draws nothing. With the data change first, every
update the browser starts sees the new rows and the indices computed for them (checked in Chromium: 0 errors over
bar counts going 8 -> 2 -> 3 -> 1 -> 3, against 3 errors in the HoloViews order).

:func:`data_changes_first` reorders only the events the update added to a held document (Panel holds a served
document while a callback runs): source changes first, everything else after, each group in its own order.
A document not held dispatched its events already, and is left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["data_changes_first"]


@contextlib.contextmanager
def data_changes_first(documents: Iterable[Any]) -> Iterator[None]:
    docs = [d for d in {id(d): d for d in documents if d is not None}.values() if _held(d) is not None]
    before = {id(d): {id(event) for event in _held(d)} for d in docs}
    yield
    from bokeh.document.events import ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent

    data_kinds = (ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent)
    for doc in docs:
        held = _held(doc)
        if held is None:
            continue
        seen = before[id(doc)]
        slots = [i for i, event in enumerate(held) if id(event) not in seen]
        added = [held[i] for i in slots]
        ordered = [e for e in added if isinstance(e, data_kinds)] + [
            e for e in added if not isinstance(e, data_kinds)
        ]
        for i, event in zip(slots, ordered, strict=True):
            held[i] = event


def _held(document: Any) -> list | None:
    """The document's held events, or None when it is not held (its events went out as they happened)."""
    callbacks = getattr(document, "callbacks", None)
    if callbacks is None or getattr(callbacks, "hold_value", None) is None:
        return None
    return getattr(callbacks, "_held_events", None)
