"""`lumen-ext test` end to end: a copy of specs/penguins.yaml and its checks file whose data breaks one declared
assertion. The gate serves it, uses every layout, control and download in Chromium, evaluates the checks file on
the data the server computes, exits 1 and names the broken assertion with its file:line, in the text output and
in the JUnit XML. Everything else the checks file declares (the other assertions, the budgets) and the page's own
checks pass: only the data is wrong.

One run on one spec: the engine's every step is also run on every example spec by test_controls.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from support.paths import REPO, SPECS_DIR

pytestmark = pytest.mark.ui

BROKEN_ASSERTION = "body_mass_g: {min: 2500, max: 6500, not_null: true}"


def test_broken_data_fails_the_gate_naming_the_assertion(tmp_path):
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "sources").mkdir()
    (project / "lumen-ext.toml").write_text(
        ""
    )  # the project root: the spec reads ../sources/penguins.parquet
    for name in ("penguins.yaml", "penguins.checks"):
        shutil.copy(SPECS_DIR / name, project / "specs" / name)
    birds = pd.read_parquet(REPO / "sources" / "penguins.parquet")
    birds.loc[birds["body_mass_g"].idxmax(), "body_mass_g"] = 9100.0  # a typo in the data: 9.1 kg
    birds.to_parquet(project / "sources" / "penguins.parquet")
    checks_lines = (project / "specs" / "penguins.checks").read_text().splitlines()
    line = next(i for i, text in enumerate(checks_lines, 1) if BROKEN_ASSERTION in text)

    result = subprocess.run(
        [sys.executable, "-m", "lumen_ext", "test", "specs/penguins.yaml", "--junit", "out/junit.xml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    failed = [text for text in result.stdout.splitlines() if text.lstrip().startswith("FAIL")]
    assert failed == [f"  FAIL  pipeline measured: `body_mass_g` <= 6500 (specs/penguins.checks:{line})"], (
        output
    )
    assert "          1 of 342 values above 6500; largest 9100\n" in result.stdout
    assert "1 spec: 0 passed, 1 failed;" in result.stdout

    root = ET.parse(project / "out" / "junit.xml").getroot()
    [suite] = root.findall("testsuite")
    assert (suite.get("name"), suite.get("failures")) == ("specs/penguins.yaml", "1")
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) > 50
    [broken] = [case for case in cases if case.find("failure") is not None]
    assert (broken.get("name"), broken.get("file"), broken.get("line")) == (
        "pipeline measured: `body_mass_g` <= 6500",
        "specs/penguins.checks",
        str(line),
    )
    names = {case.get("name") for case in cases}
    # the page was used (tabs, controls, downloads), the budgets measured, the source table read in-process
    assert "layout 'Tables': renders, every view shows data" in names
    assert "control 'Species' on 'Measurements': set to another value and back" in names
    assert "layout 'Measurements': first render within 20.00 s" in names
    assert "table palmer.penguins: not empty" in names
