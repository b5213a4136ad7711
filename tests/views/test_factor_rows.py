"""Which plots rebuild rather than patch when their row count changes (BokehJS "Size mismatch")."""

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
    from lumen_ext.views.patching import _factor_rows

    zones = pd.DataFrame({"zone": ["a", "b", "c"], "fare": [3.0, 2.0, 1.0]})
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 1.0]})
    print(json.dumps({
        "bars": _factor_rows(hv.Bars(zones, "zone", "fare")),
        "fewer bars": _factor_rows(hv.Bars(zones.head(2), "zone", "fare")),
        "category dtype": _factor_rows(hv.Bars(zones.astype({"zone": "category"}), "zone", "fare")),
        "scatter": _factor_rows(hv.Scatter(points, "x", "y")),
        "box": _factor_rows(hv.BoxWhisker(zones, "zone", "fare")),
        "overlay": _factor_rows(hv.Bars(zones, "zone", "fare") * hv.Scatter(points, "x", "y")),
    }))
    """
)


def test_only_categorical_axes_count_rows():
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
    }
