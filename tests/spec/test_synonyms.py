"""The "did you mean" synonyms: analysts' names for charts map to hvPlot kinds and Lumen view types that exist."""

from __future__ import annotations

import pytest

from lumen_ext.spec import check
from lumen_ext.spec.catalog import catalog
from lumen_ext.spec.checker_messages import SYNONYMS, suggest


def _kinds() -> list[str]:
    return sorted(catalog(False).hvplot["per_kind"])


def _view_types() -> list[str]:
    return catalog(False).short_types("view")


def test_every_synonym_target_exists():
    known = set(_kinds()) | set(_view_types())
    for word, targets in SYNONYMS.items():
        assert word == word.lower() and not set(word) & set("_- "), f"{word!r} is not normalised"
        assert targets, word
        for target, _ in targets:
            assert target in known, f"{word!r} -> {target!r}: neither an hvPlot kind nor a view type"
        # A synonym must never shadow a real name.
        assert word not in known, f"{word!r} is itself an hvPlot kind or view type"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("barchart", "did you mean 'bar'?"),
        ("bar_chart", "did you mean 'bar'?"),
        ("Bar-Chart", "did you mean 'bar'?"),
        ("column", "did you mean 'bar'?"),
        ("linechart", "did you mean 'line'?"),
        ("scatter_plot", "did you mean 'scatter'?"),
        ("histogram", "did you mean 'hist'?"),
        ("heat_map", "did you mean 'heatmap'?"),
        ("boxplot", "did you mean 'box'?"),
        ("piechart", "did you mean 'bar' (hvPlot has no pie chart kind; a bar chart shows the same shares)?"),
        ("scater", "did you mean 'scatter' or 'step'?"),  # not a synonym: edit distance as before
    ],
)
def test_hvplot_kind_synonyms(word, expected):
    candidates = _kinds()
    assert suggest(word, candidates, synonyms=True) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("datatable", "did you mean 'table'?"),
        ("data_table", "did you mean 'table'?"),
        ("barchart", "did you mean 'hvplot' (with `kind: bar`)?"),
        ("scatterplot", "did you mean 'hvplot' (with `kind: scatter`)?"),
        ("kpi", "did you mean 'indicator'?"),
    ],
)
def test_view_type_synonyms(word, expected):
    assert suggest(word, _view_types(), synonyms=True) == expected


def test_synonyms_only_where_asked():
    # Key names keep plain edit distance: a `grid:` key is no misspelt `table:`.
    assert suggest("grid", ["table", "title"]) is None
    assert suggest("barchart", _kinds()) == "did you mean 'barh'?"


def test_checker_offers_synonym_for_kind():
    spec = {
        "sources": {"s": {"type": "file", "tables": {"t": "t.csv"}}},
        "layouts": [
            {"title": "x", "source": "s", "views": [{"type": "hvplot", "table": "t", "kind": "barchart"}]}
        ],
    }
    hints = [i.hint for i in check(spec) if i.path[-1] == "kind"]
    assert hints == ["did you mean 'bar'?"]
