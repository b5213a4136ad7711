"""The four output formats: JSON (schema), SARIF 2.1.0 (shape), GitHub annotations, and text with carets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumen_ext.validation import RULES, Report, jsonwrite, validate_text
from lumen_ext.validation.reporters import REPORTER_BY_NAME, GithubReporter, TextReporter

SPEC = """\
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
pipelines:
  main:
    source: salse
layouts:
  - title: "Sales, 100%"
    pipeline: main
    views:
      - type: table
        page_sise: 3
"""

JSON_OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["version", "files", "diagnostics", "summary"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "files": {"type": "array", "items": {"type": "string"}},
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "file", "line", "column", "end_line", "end_column", "severity", "rule", "message", "hint",
                ],
                "properties": {
                    "file": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1},
                    "end_column": {"type": "integer", "minimum": 1},
                    "severity": {"enum": ["error", "warning"]},
                    "rule": {"enum": list(RULES)},
                    "message": {"type": "string", "minLength": 1},
                    "hint": {"type": ["string", "null"]},
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["errors", "warnings"],
            "properties": {"errors": {"type": "integer"}, "warnings": {"type": "integer"}},
        },
    },
}  # fmt: skip


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "sales.csv").write_text("region,price\nEast,1\n")
    return Report([validate_text(SPEC, "dash,board.yaml", tmp_path)])


def render(name: str, report: Report) -> str:
    out = io.StringIO()
    REPORTER_BY_NAME[name](out).report(report)
    return out.getvalue()


def test_reporter_registry() -> None:
    assert list(REPORTER_BY_NAME) == ["text", "json", "github", "sarif"]


def test_json_output_matches_its_schema(report: Report) -> None:
    payload = json.loads(render("json", report))
    jsonschema.validate(payload, JSON_OUTPUT_SCHEMA)
    assert payload["summary"] == {"errors": 2, "warnings": 0}
    assert [(d["line"], d["column"], d["end_column"], d["rule"]) for d in payload["diagnostics"]] == [
        (8, 13, 18, "undefined-source"),
        (14, 9, 18, "unknown-key"),
    ]
    assert payload["diagnostics"][0]["hint"] == "did you mean 'sales'?"


def test_sarif_shape(report: Report) -> None:
    sarif = json.loads(render("sarif", report))
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    [run] = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "lumen-ext"
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    assert [r["ruleId"] for r in run["results"]] == ["undefined-source", "unknown-key"]
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning")
        [location] = result["locations"]
        region = location["physicalLocation"]["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "dash,board.yaml"


def test_github_annotations_escape_properties_and_data(report: Report) -> None:
    lines = render("github", report).splitlines()
    assert lines[0] == (
        "::error file=dash%2Cboard.yaml,line=8,col=13,endLine=8,endColumn=18,title=undefined-source"
        "::pipeline `main` uses source `salse`, which is not declared%0Ahint: did you mean 'sales'?"
    )
    assert lines[1].startswith(
        "::error file=dash%2Cboard.yaml,line=14,col=9,endLine=14,endColumn=18,title=unknown-key::"
    )
    assert len(lines) == 2


def test_github_escapes_percent_and_newlines() -> None:
    from lumen_ext.validation.diagnostics import Diagnostic, FileReport, Span

    d = Diagnostic("a:b.yaml", Span(1, 1, 1, 2), "yaml-syntax", "50% done\nnext", None, "warning")
    out = io.StringIO()
    GithubReporter(out).report(Report([FileReport("a:b.yaml", "x", [d])]))
    assert out.getvalue() == (
        "::warning file=a%3Ab.yaml,line=1,col=1,endLine=1,endColumn=2,title=yaml-syntax::50%25 done%0Anext\n"
    )


def test_text_output_has_source_line_caret_and_hint(report: Report) -> None:
    assert render("text", report) == (
        "dash,board.yaml:8:13: error[undefined-source]: pipeline `main` uses source `salse`, which is not declared\n"
        " 8 |     source: salse\n"
        "   |             ^^^^^\n"
        "  = hint: did you mean 'sales'?\n"
        "dash,board.yaml:14:9: error[unknown-key]: Table has no key 'page_sise'\n"
        " 14 |         page_sise: 3\n"
        "    |         ^^^^^^^^^\n"
        "  = hint: did you mean 'page_size' or 'page' or 'initial_page_size'?\n"
        "2 errors, 0 warnings in 1 file\n"
    )


def test_text_caret_for_a_span_that_runs_past_the_line() -> None:
    from lumen_ext.validation.diagnostics import Diagnostic, Span

    d = Diagnostic("x.yaml", Span(2, 3, 5, 1), "missing-source", "msg")
    text = TextReporter(io.StringIO()).render(d, ["a: 1", "b: [1,", "  2]"])
    assert text.splitlines()[1:] == [" 2 | b: [1,", "   |   ^^^^"]


def test_text_colour_codes_only_when_asked(report: Report) -> None:
    out = io.StringIO()
    TextReporter(out, color=True).report(report)
    assert "\x1b[1;31merror[undefined-source]\x1b[0m" in out.getvalue()
    assert "\x1b[" not in render("text", report)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_json_writer_gives_the_standard_librarys_text(value) -> None:
    assert jsonwrite.dumps(value) == json.dumps(value, indent=2)
