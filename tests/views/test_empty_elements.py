"""Which plots rebuild rather than patch because an element is empty (HoloViews skips it on an update)."""

from __future__ import annotations

import textwrap

from support.probe import run_python

PROBE = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import holoviews as hv
    import pandas as pd
    from lumen_ext.views.patching import _has_empty_element

    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 1.0]})
    print(json.dumps([
        _has_empty_element(hv.Scatter(points, "x", "y")),
        _has_empty_element(hv.Scatter(points.head(0), "x", "y")),
        _has_empty_element(hv.NdOverlay({"a": hv.Curve(points), "b": hv.Curve(points.head(0))})),
        _has_empty_element(hv.NdOverlay({})),
    ]))
    """
)


def test_empty_elements_are_found():
    assert run_python(PROBE) == [False, True, True, True]


EMPTY_THEN_DATA = textwrap.dedent(
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

    hooks.enable("views.patching")
    from lumen_ext.views import patching
    rides = pd.DataFrame({
        "borough": ["Bronx", "Bronx", "Queens", "Queens", "EWR"],
        "service": ["Standard", "XL", "Standard", "XL", "Standard"],
        "payment": ["Card", "Cash", "Card", "Card", "Cash"],
        "fare": [10.0, 12.0, 9.0, 14.0, 30.0],
    })
    pipeline = Pipeline.from_spec({
        "source": InMemorySource(tables={"rides": rides}),
        "table": "rides",
        "filters": [{"type": "widget", "field": "borough"}],
    })
    doc = Document()
    with set_curdoc(doc):
        view = hvPlotView(pipeline=pipeline, kind="bar", x="service", y="fare", by=["payment"])
        doc.add_root(pn.Column(view).get_root(doc))
        steps = []
        for value in (["Bronx"], ["Nowhere"], ["Queens"], ["Bronx"], ["Nowhere"], ["Nowhere"], ["Queens"]):
            pipeline.filters[0].value = value
            steps.append([value[0], patching.patch_state(view).last, len(pipeline.data)])
    print(json.dumps(steps))
    """
)


def test_a_plot_drawn_from_an_empty_frame_is_rebuilt_for_the_next_data():
    # Drawn without rows, a bar chart's factor axis is numeric: patching categories into it raised a TypeError in
    # HoloViews' range update (the bench's filter order Brooklyn -> EWR -> Queens found it).
    steps = run_python(EMPTY_THEN_DATA)
    assert steps == [
        ["Bronx", "patched", 2],
        ["Nowhere", "an element has no rows", 0],
        ["Queens", "the plot on screen was drawn from an empty frame", 2],
        ["Bronx", "patched", 2],
        ["Nowhere", "an element has no rows", 0],
        ["Nowhere", "an element has no rows", 0],
        ["Queens", "the plot on screen was drawn from an empty frame", 2],
    ]
