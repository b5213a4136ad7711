"""`lumen-ext test` before any browser starts: usage and environment errors (exit 2), finding a browser, and the
two outputs (text, JUnit XML) of a finished run, in-process."""

from __future__ import annotations

import io
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support.paths import REPO

from lumen_ext.cli import main
from lumen_ext.gate.browser import NO_BROWSER, BrowserChoice, find_browser
from lumen_ext.gate.junit import write_junit
from lumen_ext.gate.report import write_text
from lumen_ext.gate.results import Check, SpecResult

SPEC = """
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
pipelines:
  main:
    source: sales
    table: sales
layouts:
  - title: Sales
    pipeline: main
    views:
      prices:
        type: table
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy(REPO / "tests" / "examples" / "valid" / "sales.csv", tmp_path / "sales.csv")
    (tmp_path / "sales.yaml").write_text(SPEC)
    return tmp_path


def test_a_missing_spec_is_a_usage_error(capsys, tmp_path):
    assert main(["test", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file or directory" in capsys.readouterr().err


def test_a_checks_file_with_errors_stops_before_serving(capsys, folder):
    (folder / "sales.checks").write_text("pipelines:\n  mian:\n    not_empty: true\n")
    assert main(["test", str(folder / "sales.yaml")]) == 2
    err = capsys.readouterr().err
    assert "sales.checks:2:3: error[undefined-pipeline]: the spec declares no pipeline `mian`" in err
    assert "lumen-ext test: fix these first" in err


def test_a_checks_file_without_its_spec_is_an_error(capsys, folder):
    (folder / "sale.checks").write_text("pipelines: {}\n")
    assert main(["test", str(folder / "sale.checks")]) == 2
    assert (
        "error[orphan-checks]: no spec `sale.yaml` or `sale.yml` beside this checks file"
        in capsys.readouterr().err
    )


def test_a_browser_path_that_is_no_executable_is_an_environment_error(capsys, folder):
    assert main(["test", str(folder / "sales.yaml"), "--browser", str(folder / "sales.csv")]) == 2
    assert f"--browser {folder / 'sales.csv'} is not an executable file" in capsys.readouterr().err


def test_a_browser_that_does_not_start_is_an_environment_error(capsys, folder):
    assert main(["test", str(folder / "sales.yaml"), "--browser", "/bin/true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lumen-ext test: the browser /bin/true (--browser) did not start: "), err


def test_no_browser_anywhere_says_how_to_get_one(capsys, folder, monkeypatch):
    """No --browser, no LUMEN_EXT_CHROMIUM, nothing on PATH, and Playwright (installed) has not downloaded its
    own Chromium (this machine uses Debian's, never `playwright install`)."""
    monkeypatch.delenv("LUMEN_EXT_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(folder))
    assert main(["test", str(folder / "sales.yaml")]) == 2
    assert capsys.readouterr().err == NO_BROWSER + "\n"


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_browser_discovery_order(tmp_path):
    on_path = _executable(tmp_path / "chromium-browser")
    chosen = _executable(tmp_path / "my-chrome")
    environ = {"PATH": str(tmp_path), "LUMEN_EXT_CHROMIUM": str(chosen)}
    assert find_browser(str(on_path), environ) == BrowserChoice(on_path, "--browser")
    assert find_browser(None, environ) == BrowserChoice(chosen, "LUMEN_EXT_CHROMIUM")
    assert find_browser(None, {"PATH": str(tmp_path)}) == BrowserChoice(on_path, "chromium-browser on PATH")
    assert find_browser(
        None, {"PATH": os.pathsep.join([str(tmp_path / "none"), "/usr/bin"])}
    ) == BrowserChoice(Path("/usr/bin/chromium"), "chromium on PATH")


RESULTS = [
    SpecResult(
        "specs/a.yaml",
        [
            Check(
                "layout 'Overview': renders, every view shows data", True, "7 of 7 views located", seconds=3.2
            ),
            Check(
                "pipeline events: `mag` <= 9.5",
                False,
                "2 of 596 values above 9.5; largest 9.9",
                "specs/a.checks:21",
            ),
        ],
    ),
    SpecResult("specs/b.yaml", [Check("no tracebacks or errors in the server log", True)]),
]


def test_text_output_one_line_per_check_grouped_per_spec():
    out = io.StringIO()
    write_text(RESULTS, out, seconds=61.4)
    assert out.getvalue() == (
        "specs/a.yaml\n"
        "  PASS  layout 'Overview': renders, every view shows data: 7 of 7 views located\n"
        "  FAIL  pipeline events: `mag` <= 9.5 (specs/a.checks:21)\n"
        "          2 of 596 values above 9.5; largest 9.9\n"
        "specs/b.yaml\n"
        "  PASS  no tracebacks or errors in the server log\n"
        "2 specs: 1 passed, 1 failed; 3 checks, 1 failed (61 s)\n"
    )


def test_junit_one_suite_per_spec_one_case_per_check(tmp_path):
    path = tmp_path / "out" / "junit.xml"
    write_junit(RESULTS, 61.4, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("time")) == ("3", "1", "61.400")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in suites] == [
        ("specs/a.yaml", "2", "1"),
        ("specs/b.yaml", "1", "0"),
    ]
    passed, failed = suites[0].findall("testcase")
    assert passed.get("time") == "3.200" and passed.find("failure") is None
    assert (failed.get("name"), failed.get("file"), failed.get("line")) == (
        "pipeline events: `mag` <= 9.5",
        "specs/a.checks",
        "21",
    )
    failure = failed.find("failure")
    assert failure.get("message") == "2 of 596 values above 9.5; largest 9.9"
    assert failure.text.endswith("declared at specs/a.checks:21")
