"""Fixtures shared by every test area."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.paths import CORPUS

from lumen_ext.data import synthetic


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the Lumen spec corpus is missing: expected {CORPUS} beside the repository")
    return CORPUS


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
