"""An exception inside a check is an `internal-error` diagnostic: the report stays complete and well-formed."""

from __future__ import annotations

import io
import json
import re

import pytest

from lumen_ext.validation import Report, validate_text
from lumen_ext.validation.command import exit_status
from lumen_ext.validation.guard import contained
from lumen_ext.validation.reporters import REPORTER_BY_NAME

SPEC = "config:\n  title: 1\n  ncols: x\n"


def crashed_report() -> Report:
    # A policy of the wrong type is a real misuse of the library API: the security check fails on it.
    return Report([validate_text(SPEC, "t.yaml", data=False, policy="strict")])


def test_a_crashing_check_becomes_an_internal_error_and_the_others_still_report() -> None:
    report = crashed_report()
    found = [(d.line, d.column, d.rule) for d in report.diagnostics]
    assert found == [(1, 1, "internal-error"), (2, 10, "invalid-type"), (3, 10, "invalid-type")]
    [file] = report.files
    assert "AttributeError" in file.tracebacks[0] and "checking security" in file.tracebacks[0]
    assert "checking security: AttributeError" in report.diagnostics[0].message
    # Where in lumen-ext it failed: a module of the security lint (the policy is first read in its base).
    assert re.search(r"\(security\w*\.py:\d+\)", report.diagnostics[0].message)
    assert report.crashed and exit_status(report) == 2


def test_json_and_sarif_stay_valid_with_an_internal_error() -> None:
    report = crashed_report()
    for name in ("json", "sarif"):
        out = io.StringIO()
        REPORTER_BY_NAME[name](out).report(report)
        assert "internal-error" in json.dumps(json.loads(out.getvalue()))


def test_exit_status_without_a_crash() -> None:
    assert exit_status(Report([validate_text("config: {title: t}\n", data=False)])) == 0
    assert exit_status(Report([validate_text(SPEC, data=False)])) == 1


def test_contained_keeps_the_traceback_and_lets_interrupts_through() -> None:
    diagnostics, tracebacks = [], []
    with contained(diagnostics, tracebacks, "t.yaml", "testing"):
        {}["missing"]  # a real KeyError
    assert [d.rule for d in diagnostics] == ["internal-error"]
    assert "KeyError: 'missing'" in tracebacks[0]
    try:
        with contained(diagnostics, tracebacks, "t.yaml", "testing"):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("KeyboardInterrupt was swallowed")


@pytest.mark.parametrize(
    "spec",
    [
        # bench/fuzz_specs.py --only scalar-tags --case 1209 --seed 2: a DuckDB `uri:` that is a list.
        "sources:\n  db: {type: duckdb, uri: [2024-02-30, x], tables: {t: 'SELECT 1 AS a'}}\n"
        "layouts:\n  - {title: T, source: db, views: [{type: table, table: t}]}\n",
        # A NUL written as an escape: the OS refuses to look the path up (ValueError, not OSError).
        'sources:\n  f: {type: file, tables: {t: "a\\0b.csv"}}\n  g: {type: duckdb, uri: "x\\0y.db", tables: {t: q}}\n'
        "layouts:\n  - {title: U, source: f, views: [{type: table, table: t}]}\n"
        "  - {title: V, source: g, views: [{type: table, table: t}]}\n",
        # A transform whose `type:` is a list reached the data checks' dict lookups (unhashable type: 'list').
        "sources:\n  s: {type: file, tables: {t: sales.csv}}\n"
        "pipelines:\n  p: {source: s, transforms: [{type: [columns], columns: [region]}]}\n",
    ],
    ids=["duckdb-uri-list", "nul-in-paths", "transform-type-list"],
)
def test_inputs_the_fuzzer_found_crashing_are_diagnostics(spec: str, tmp_path) -> None:
    (tmp_path / "sales.csv").write_text("region,price\nEast,1\n")
    report = validate_text(spec, "t.yaml", tmp_path)
    assert report.tracebacks == [] and report.diagnostics
