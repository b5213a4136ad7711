"""``recompute_only_if_changed`` skips Bokeh's model walk only when no model was attached or detached."""

from __future__ import annotations

import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Range1d, Title
from bokeh.plotting import figure

from lumen_ext.views.model_graph import recompute_only_if_changed, supported


@pytest.fixture
def doc_and_figure():
    doc = Document()
    fig = figure(width=300, height=200)
    source = ColumnDataSource(data={"x": [1, 2], "y": [3, 4]})
    fig.scatter("x", "y", source=source)
    doc.add_root(fig)
    return doc, fig, source


@pytest.fixture
def recomputes(doc_and_figure, monkeypatch):
    doc = doc_and_figure[0]
    calls = []
    original = doc.models.recompute

    def counted():
        calls.append(1)
        original()

    monkeypatch.setattr(doc.models, "recompute", counted)
    return calls


def reachable_ids(doc) -> set[str]:
    return {model.id for root in doc.roots for model in root.references()}


def held_ids(doc) -> set[str]:
    return {model.id for model in doc.models}


def test_bokeh_still_has_what_it_relies_on(doc_and_figure):
    assert supported(doc_and_figure[0])


def test_a_data_update_skips_the_walk_even_under_holoviews_freeze(doc_and_figure, recomputes):
    doc, fig, source = doc_and_figure
    # The inner freeze is what HoloViews' hold_render opens around every update.
    with recompute_only_if_changed([doc]), doc.models.freeze():
        source.data = {"x": [5, 6, 7], "y": [1, 2, 3]}
        fig.x_range.start = 0
    assert recomputes == []
    assert held_ids(doc) == reachable_ids(doc)
    assert doc.models._freeze_count == 0


def test_a_new_model_reference_recomputes(doc_and_figure, recomputes):
    doc, fig, _ = doc_and_figure
    title = Title(text="new")
    with recompute_only_if_changed([doc]), doc.models.freeze():
        fig.title = title
        fig.x_range = Range1d(0, 10)
    assert recomputes == [1]
    assert doc.get_model_by_id(title.id) is title
    assert held_ids(doc) == reachable_ids(doc)


def test_a_new_root_recomputes(doc_and_figure, recomputes):
    doc, _, _ = doc_and_figure
    other = figure(width=100, height=100)
    with recompute_only_if_changed([doc]):
        doc.add_root(other)
    assert recomputes  # add_root relies on the freeze's own recompute
    assert doc.get_model_by_id(other.id) is other
    assert held_ids(doc) == reachable_ids(doc)


def test_nested_uses_and_errors_restore_the_document(doc_and_figure, recomputes):
    doc, fig, _ = doc_and_figure
    title = Title(text="inner")
    with pytest.raises(RuntimeError), recompute_only_if_changed([doc, doc]):
        with recompute_only_if_changed([doc]):
            fig.title = title  # noted by the inner use and passed on to the outer one
        raise RuntimeError("an update failed")
    assert "invalidate" not in vars(doc.models)
    assert doc.models._freeze_count == 0
    assert doc.get_model_by_id(title.id) is title
    assert held_ids(doc) == reachable_ids(doc)


def test_documents_not_given_are_untouched():
    with recompute_only_if_changed([None]):
        pass
