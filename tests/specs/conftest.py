"""Fixtures for the example specs: the 10M-row synthetic file they read, generated once per machine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lumen_ext.data import synthetic

REPO = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO / "specs"
SPECS = sorted(SPECS_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def rides_10m(request: pytest.FixtureRequest) -> Path:
    """The file `specs/rides.yaml` reads: what `lumen-ext data` gives users, generated if missing or stale."""
    path = synthetic.synthetic_path(synthetic.DEFAULT_ROWS)
    fresh = synthetic.is_current(path, synthetic.DEFAULT_ROWS)
    started = time.perf_counter()
    synthetic.ensure_synthetic(synthetic.DEFAULT_ROWS)
    elapsed = time.perf_counter() - started
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        what = "already up to date" if fresh else f"generated in {elapsed:.1f} s"
        reporter.write_line(f"\nsynthetic rides file {path.name}: {what}")
    return path
