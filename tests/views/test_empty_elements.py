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
