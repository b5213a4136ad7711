"""Ruff, as configured in pyproject.toml, is clean over the whole repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.paths import REPO

RUFF = Path(sys.executable).with_name("ruff")


def test_ruff_check():
    result = subprocess.run([RUFF, "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = subprocess.run(
        [RUFF, "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
