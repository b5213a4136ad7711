"""Build a dashboard in-process with Lumen 1.4, as a viewer's first page load would, in a fresh interpreter.

The corpus harness (`verify.py --build-one`) loads every layout and tab, renders every view and turns the page
into a Bokeh `Document`; it runs in its own interpreter because Lumen keeps global state between dashboards, and
pandas 3.1 warnings from Bokeh/Panel would trip pytest's `-W error`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.paths import SHARED

VERIFY = SHARED / "lumen-corpus" / "tools" / "verify.py"
MARKER = "@@VERIFY@@"


def build(spec: Path, cwd: Path) -> dict:
    """The harness's result for ``spec`` built from ``cwd``: ``ok``, ``errors``, ``n_layouts``, ``views``
    (each with its ``type`` and ``rows``), ..."""
    proc = subprocess.run(
        [sys.executable, str(VERIFY), "--build-one", str(spec)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise AssertionError(f"build worker exited {proc.returncode}: {proc.stderr[-2000:]}")
