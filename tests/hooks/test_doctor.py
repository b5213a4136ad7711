"""`lumen-ext doctor` lists every hook of the table with its state on this machine."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lumen_ext.hooks.table import HOOKS


@pytest.mark.parametrize("profile", ["serve", "lumen-serve", "fastapi", "precache", "explain", "test"])
def test_doctor_reports_every_hook(profile):
    result = subprocess.run(
        [sys.executable, "-m", "lumen_ext.cli", "doctor", "--profile", profile, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)
    assert [row["hook"] for row in rows] == [hook.name for hook in HOOKS]
    in_profile = {hook.name for hook in HOOKS if profile in hook.profiles}
    for row in rows:
        assert row["code"] == "unchanged"
        expected = {"enabled", "deferred"} if row["hook"] in in_profile else {"not in profile"}
        assert row["state"] in expected, row
