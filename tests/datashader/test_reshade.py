"""A colormap change repaints the rasterized Figure on screen, which then draws what a rebuild would draw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).with_name("reshade_scenario.py")


@pytest.fixture(scope="module")
def outcome(small_density_spec) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCENARIO), str(small_density_spec)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=small_density_spec.parent,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_figure_stays_and_equals_a_rebuild(outcome):
    assert outcome["kept"]
    assert outcome["after_change"] == []
    assert outcome["stats"]["reshaded"] == 1


def test_a_later_zoom_keeps_the_new_colormap(outcome):
    assert outcome["after_zoom"] == []


def test_a_cnorm_change_rebuilds(outcome):
    """``cnorm`` swaps the colour mapper's type: that is a rebuild, not a repaint."""
    assert outcome["cnorm_rebuilt"]
