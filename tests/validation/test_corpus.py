"""Every real Lumen spec lumen-ext must accept: the shared corpus and the project's own specs/ folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import CORPUS, REPO

from lumen_ext.validation import validate_file

MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if CORPUS.is_dir() else {"specs": []}
CORPUS_SPECS = MANIFEST["specs"]
# Parametrized over the glob, so specs added to specs/ are picked up without touching this file.
PROJECT_SPECS = sorted((REPO / "specs").rglob("*.yaml")) + sorted((REPO / "specs").rglob("*.yml"))


def _errors(path: Path) -> list[str]:
    report = validate_file(path)
    return [f"{d.line}:{d.column} {d.rule}: {d.message}" for d in report.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("entry", CORPUS_SPECS, ids=[s["id"] for s in CORPUS_SPECS])
def test_corpus_spec_has_no_errors(entry: dict, corpus_dir: Path) -> None:
    # Read in place: validation never writes next to a spec.
    assert _errors(corpus_dir / entry["path"]) == []


def test_corpus_is_complete(corpus_dir: Path) -> None:
    assert len(CORPUS_SPECS) == 20


@pytest.mark.parametrize(
    "path", PROJECT_SPECS, ids=[str(p.relative_to(REPO / "specs")) for p in PROJECT_SPECS]
)
def test_project_spec_has_no_errors(path: Path) -> None:
    assert _errors(path) == []


def test_offline_corpus_data_is_really_checked(corpus_dir: Path) -> None:
    """Guard against a silent no-op: a column typo in a copy of a corpus spec must be found."""
    spec = corpus_dir / "offline" / "penguins" / "penguins.yaml"
    text = spec.read_text().replace("x: bill_length_mm", "x: bill_lenght_mm")
    from lumen_ext.validation import validate_text

    report = validate_text(text, "penguins.yaml", spec.parent)
    [diagnostic] = report.diagnostics
    assert diagnostic.rule == "unknown-column"
    assert (diagnostic.line, diagnostic.column) == (39, 12)
    assert diagnostic.hint.startswith("did you mean one of 'bill_length_mm'")


def test_duckdb_relative_paths_resolve_from_the_spec_folder_with_a_warning(corpus_dir: Path) -> None:
    report = validate_file(corpus_dir / "offline" / "nyc_taxi" / "nyc_taxi.yaml")
    assert [(d.rule, d.severity) for d in report.diagnostics] == [("duckdb-cwd", "warning")]
