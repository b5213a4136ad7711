"""An hvPlot view whose filters select no rows shows a note, and draws again with the next rows (the browser
version is tests/ui/test_empty_selection.py)."""

from __future__ import annotations

import textwrap

from support.probe import run_python

SCENARIO = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    import panel as pn
    from bokeh.document import Document
    from lumen.pipeline import Pipeline
    from lumen.sources.base import InMemorySource
    from lumen.views.base import hvPlotView
    from panel.io.state import set_curdoc
    from lumen_ext import hooks

    for name in HOOKS:
        hooks.enable(name)
    rides = pd.DataFrame({
        "borough": ["Bronx", "Bronx", "Queens", "Queens"],
        "payment": ["Card", "Cash", "Card", "Card"],
        "fare": [10.0, 12.0, 9.0, 14.0],
    })
    pipeline = Pipeline.from_spec({
        "source": InMemorySource(tables={"rides": rides}),
        "table": "rides",
        "filters": [{"type": "widget", "field": "borough"}],
    })
    doc = Document()
    steps = []
    with set_curdoc(doc):
        view = hvPlotView(pipeline=pipeline, kind="scatter", x="fare", y="fare", by=["payment"])
        root = pn.Column(view)
        doc.add_root(root.get_root(doc))
        for value in (["Bronx"], ["Nowhere"], ["Nowhere", "Elsewhere"], ["Queens"]):
            try:
                pipeline.filters[0].value = value
                shown = view.panel
                html = str(getattr(shown, "object", ""))
                steps.append([value[0], type(shown).__name__, "lx-empty-note" in html, len(pipeline.data)])
            except Exception as exc:
                steps.append([value[0], type(exc).__name__, False, None])
    print(json.dumps(steps))
    """
)


def test_no_rows_show_a_note_and_the_next_rows_a_new_plot():
    steps = run_python(SCENARIO.replace("HOOKS", repr(["views.empty-results", "views.patching"])))
    assert steps == [
        ["Bronx", "HoloViews", False, 2],
        ["Nowhere", "HTML", True, 0],
        ["Nowhere", "HTML", True, 0],  # still empty: the same note, nothing rebuilt
        ["Queens", "HoloViews", False, 2],
    ]


def test_without_the_hook_lumen_fails_on_no_rows():
    """What the hook is for: Lumen's own update raises HoloViews' SkipRendering on the empty overlay."""
    steps = run_python(SCENARIO.replace("HOOKS", "[]"))
    assert steps[1][:2] == ["Nowhere", "SkipRendering"], steps
