"""Every spec in specs/ builds in Lumen 1.4.0 with zero errors, every tab loaded and every view rendered.

Builds run in a fresh interpreter through the corpus harness (`support.lumen_build`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.lumen_build import VERIFY, build
from support.paths import EXAMPLE_SPECS as SPECS
from support.paths import REPO, SPECS_DIR


@pytest.fixture
def data_ready(request: pytest.FixtureRequest, spec: Path) -> None:
    if "generated/" in spec.read_text(encoding="utf-8"):
        request.getfixturevalue("rides_10m")


@pytest.mark.skipif(not VERIFY.exists(), reason="needs ../shared/lumen-corpus/tools/verify.py")
@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_builds_without_errors(spec: Path, data_ready: None) -> None:
    # From the repository root, where `lumen-ext serve specs/<name>.yaml` is run: file sources resolve
    # against the spec's folder and the DuckDB specs add `specs` to DuckDB's file search path.
    result = build(spec, cwd=REPO)
    assert result["ok"], result["errors"]
    assert result["n_layouts"] >= 1
    assert result["views"], "no view was rendered"
    empty = [v for v in result["views"] if v["rows"] == 0]
    assert not empty, f"views without data: {empty}"


@pytest.mark.skipif(not VERIFY.exists(), reason="needs ../shared/lumen-corpus/tools/verify.py")
@pytest.mark.slow
def test_duckdb_spec_builds_from_its_own_folder() -> None:
    # DuckDB resolves relative paths against the working directory: the spec's own folder must work too.
    result = build(SPECS_DIR / "stocks.yaml", cwd=SPECS_DIR)
    assert result["ok"], result["errors"]
