"""Which plots rebuild rather than patch: bar counts changing (BokehJS "Size mismatch"), empty elements."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import json, warnings
    warnings.simplefilter("ignore")
    import holoviews as hv
    import pandas as pd
    from lumen_ext.views.patching import _factor_rows, _has_empty_element

    zones = pd.DataFrame({"zone": ["a", "b", "c"], "fare": [3.0, 2.0, 1.0]})
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 1.0]})
    print(json.dumps({
        "bars": _factor_rows(hv.Bars(zones, "zone", "fare")),
        "fewer bars": _factor_rows(hv.Bars(zones.head(2), "zone", "fare")),
        "category dtype": _factor_rows(hv.Bars(zones.astype({"zone": "category"}), "zone", "fare")),
        "scatter": _factor_rows(hv.Scatter(points, "x", "y")),
        "box": _factor_rows(hv.BoxWhisker(zones, "zone", "fare")),
        "overlay": _factor_rows(hv.Bars(zones, "zone", "fare") * hv.Scatter(points, "x", "y")),
        "empty": [
            _has_empty_element(hv.Scatter(points, "x", "y")),
            _has_empty_element(hv.Scatter(points.head(0), "x", "y")),
            _has_empty_element(hv.NdOverlay({"a": hv.Curve(points), "b": hv.Curve(points.head(0))})),
            _has_empty_element(hv.NdOverlay({})),
        ],
    }))
    """
)


def test_bar_counts_and_empty_elements():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rows == {
        "bars": [3],
        "fewer bars": [2],
        "category dtype": [3],
        "scatter": [],
        "box": [],
        "overlay": [3],
        "empty": [False, True, True, True],
    }
