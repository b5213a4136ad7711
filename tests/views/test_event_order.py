"""A patch's source changes leave before its other changes, in a held Bokeh document (as Panel holds a session's)."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ModelChangedEvent
from bokeh.models import ColumnDataSource, FactorRange, Range1d
from bokeh.plotting import figure

from lumen_ext.views.event_order import data_changes_first


def bar_document() -> tuple[Document, ColumnDataSource, FactorRange, Range1d]:
    source = ColumnDataSource({"city": ["Oslo", "Bergen", "Riga"], "profit": [3.0, 2.0, 1.0]})
    x, y = FactorRange(factors=["Oslo", "Bergen", "Riga"]), Range1d(0, 3)
    plot = figure(x_range=x, y_range=y)
    plot.vbar(x="city", top="profit", source=source)
    doc = Document()
    doc.add_root(plot)
    return doc, source, x, y


def update_as_holoviews_does(source, x, y) -> None:
    """Ranges first, then the data, as ``ElementPlot.update_frame`` does."""
    x.factors = ["Oslo"]
    y.end = 1.5
    source.data = {"city": ["Oslo"], "profit": [1.5]}


def test_the_data_change_moves_ahead_of_the_range_changes():
    doc, source, x, y = bar_document()
    doc.hold("combine")
    y.start = -1.0  # a change made before the update keeps its place
    with data_changes_first([doc]):
        update_as_holoviews_does(source, x, y)
    events = doc.callbacks._held_events
    described = [
        (
            type(e).__name__,
            getattr(e, "attr", None),
            getattr(e.model, "id", None) if hasattr(e, "model") else None,
        )
        for e in events
    ]
    assert described == [
        ("ModelChangedEvent", "start", y.id),
        ("ColumnDataChangedEvent", "data", source.id),
        ("ModelChangedEvent", "factors", x.id),
        ("ModelChangedEvent", "end", y.id),
    ]
    assert isinstance(events[1], ColumnDataChangedEvent) and isinstance(events[2], ModelChangedEvent)
    doc.unhold()
    assert source.data["city"] == ["Oslo"] and x.factors == ["Oslo"]


def test_a_document_not_held_is_left_alone():
    doc, source, x, y = bar_document()
    seen = []
    doc.on_change(lambda event: seen.append(type(event).__name__))
    with data_changes_first([doc]):
        update_as_holoviews_does(source, x, y)
    assert seen == ["ModelChangedEvent", "ModelChangedEvent", "ColumnDataChangedEvent"]
