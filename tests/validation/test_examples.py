"""Example-driven tests: every spec in tests/examples/invalid/ must print exactly its NAME.expected.txt.

Checks files (`NAME.checks` beside `NAME.yaml`, `lumen_ext.checks`) have their own examples: valid/*.checks and
invalid/checks/*.checks, each with its NAME.checks.expected.txt.

The specs under invalid/01_... to 34_... rebuild the 34 broken specs of LUMEN-NOTES §3.2 (27 and 32 are valid
Lumen that Lumen's own validator rejects or crashes on, so they live in valid/). The others cover one rule each.
To rewrite the expected files after an intended change of wording, run with LUMEN_EXT_REGEN_EXAMPLES=1 and review
the diff.
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

import pytest

from lumen_ext.validation import RULES, Report, validate_paths, validate_text
from lumen_ext.validation.reporters import TextReporter

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "examples"
VALID = sorted((EXAMPLES / "valid").glob("*.yaml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))
VALID_CHECKS = sorted((EXAMPLES / "valid").glob("*.checks"))
INVALID_CHECKS = sorted((EXAMPLES / "invalid" / "checks").glob("*.checks"))
REGEN = os.environ.get("LUMEN_EXT_REGEN_EXAMPLES") == "1"
# Examples whose diagnostics depend on a package being absent from the environment.
NEEDS_ABSENT = {"missing_dependency": "geoviews"}


def render(path: Path) -> tuple[Report, str]:
    # Bytes, decoded without newline translation: some examples test CRLF, CR-only line ends and a BOM.
    report = Report([validate_text(path.read_bytes().decode("utf-8"), path.name, path.parent)])
    out = io.StringIO()
    TextReporter(out).report(report)
    # Messages name the project folder (this checkout, found by its pyproject.toml); keep the files portable.
    return report, out.getvalue().replace(str(REPO), "<repo>")


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_example_has_no_diagnostics(path: Path) -> None:
    report, text = render(path)
    assert report.diagnostics == [], text


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_example_matches_expected_output(path: Path) -> None:
    absent = NEEDS_ABSENT.get(path.stem)
    if absent and importlib.util.find_spec(absent) is not None:
        pytest.skip(f"{absent} is installed, so nothing is missing")
    report, text = render(path)
    expected = path.with_suffix(".expected.txt")
    if REGEN:
        expected.write_text(text, encoding="utf-8")
    assert report.diagnostics, "an invalid example must produce at least one diagnostic"
    assert text == expected.read_text(encoding="utf-8")


def render_checks(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Report, str]:
    """`lumen-ext validate NAME.checks` run from the file's folder: the checks file against its spec."""
    monkeypatch.chdir(path.parent)
    report = validate_paths([path.name])
    out = io.StringIO()
    TextReporter(out).report(report)
    return report, out.getvalue()


@pytest.mark.parametrize("path", VALID_CHECKS, ids=[p.stem for p in VALID_CHECKS])
def test_valid_checks_example_has_no_diagnostics(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, text = render_checks(path, monkeypatch)
    assert [f.path for f in report.files] == [path.name]
    assert report.diagnostics == [], text


@pytest.mark.parametrize("path", INVALID_CHECKS, ids=[p.stem for p in INVALID_CHECKS])
def test_invalid_checks_example_matches_expected_output(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, text = render_checks(path, monkeypatch)
    expected = path.with_name(path.name + ".expected.txt")
    if REGEN:
        expected.write_text(text, encoding="utf-8")
    assert report.diagnostics, "an invalid example must produce at least one diagnostic"
    assert text == expected.read_text(encoding="utf-8")


def test_every_example_has_its_expected_file_and_no_orphans() -> None:
    expected = {p.name.removesuffix(".expected.txt") for p in (EXAMPLES / "invalid").glob("*.expected.txt")}
    assert expected == {p.stem for p in INVALID}


def test_every_rule_has_an_example() -> None:
    seen = set()
    for path, expected in [
        *((p, p.with_suffix(".expected.txt")) for p in INVALID),
        *((p, p.with_name(p.name + ".expected.txt")) for p in INVALID_CHECKS),
    ]:
        seen.update(line.split("[", 1)[1].split("]", 1)[0] for line in _headlines(path, expected))
    # An input that makes lumen-ext crash is a bug, fixed when found, so `internal-error` has no example file;
    # tests/validation/test_guard.py reaches it through the library API instead.
    assert set(RULES) - seen == {"internal-error"}


def test_the_34_broken_specs_of_lumen_notes_are_all_covered() -> None:
    numbered = {int(p.stem[:2]) for p in [*VALID, *INVALID] if p.stem[:2].isdigit()}
    assert numbered == set(range(1, 35))


def _headlines(path: Path, expected: Path) -> list[str]:
    text = expected.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith(path.name + ":")]
