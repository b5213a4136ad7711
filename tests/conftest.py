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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep `xdist_group` working: pytest-xdist 3.8 names a grouped test ``NODEID@GROUP`` by setting the item's
    ``_nodeid``, which pytest 9.2 no longer reads (its ``nodeid`` is built from ``_id``), so every group was spread
    over the workers and each paid for its once-per-worker fixtures. Runs after xdist's hook, in workers only."""
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if isinstance(grouped, str) and grouped != item.nodeid:
            item._id = NodeId.parse(grouped)
