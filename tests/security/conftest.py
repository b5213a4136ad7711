"""Fixtures for the security tests: a sandbox project with payload markers, and a forked Lumen per scenario."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from security.forkrunner import ForkRunner, Outcome
from security.helpers import DATA, PRELUDE, SECRET, Sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "data.csv").write_text(DATA)
    (outside / "secret.csv").write_text(SECRET)
    return Sandbox(tmp_path, project, outside, tmp_path / "marker")


@pytest.fixture(scope="session")
def lumen_fork():
    runner = ForkRunner()
    yield runner
    runner.close()


@pytest.fixture
def run_scenario(lumen_fork, sandbox):
    """``run_scenario(code)``: run ``code`` (after PRELUDE) in a fresh fork of a Lumen process, in the project."""

    def run(code: str) -> Outcome:
        code = (
            textwrap.dedent(code)
            .replace("MARKER", str(sandbox.marker))
            .replace("OUTSIDE", str(sandbox.outside))
        )
        return lumen_fork.run(PRELUDE + code, sandbox.project)

    return run
