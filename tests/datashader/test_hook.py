"""`lumen-ext serve` installs only a light hook: Datashader is imported when a view first rasterizes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from lumen.pipeline import Pipeline
    from lumen.sources.base import InMemorySource
    from lumen.views.base import hvPlotView
    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig

    settings = hooks.Settings(cache=CacheConfig())
    hooks.enable("views.datashader.load", settings=settings)
    hooks.enable("views.datashader.load", settings=settings)  # idempotent
    df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 0.0, 1.0, 0.0]})
    pipeline = Pipeline(source=InMemorySource(tables={"t": df}), table="t")
    hvPlotView(pipeline=pipeline, kind="scatter", x="x", y="y").get_plot(pipeline.data)
    print("after plain view:", "datashader" in sys.modules)
    hvPlotView(pipeline=pipeline, kind="points", x="x", y="y", rasterize=True).get_plot(pipeline.data)
    print("after rasterize view:", "datashader" in sys.modules, hooks.is_enabled("views.datashader.aggregate"))
    """
)


def test_datashader_loads_on_the_first_rasterized_view_only():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "after plain view: False" in proc.stdout
    assert "after rasterize view: True True" in proc.stdout
