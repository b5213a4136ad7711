"""check-jsonschema, the real CLI, agrees with `lumen-ext validate` on every example spec.

`check-jsonschema --schemafile schemas/lumen-spec.schema.json` runs once, over every file (each start reads the
0.7 MB schema again): it must accept every spec of `specs/` and `tests/examples/valid/`. On
`tests/examples/invalid/` it must reject exactly where the validator reports an error of the spec grammar
(`lumen_ext.spec.check`, the catalog the schema is generated from: unknown keys and types, missing keys, values of
the wrong type or outside a choice; its warnings as `GRAMMAR_WARNINGS` says), its first message at one of those
places; every other diagnostic is a rule of `BEYOND_THE_SCHEMA`, where the tool must find nothing or, for the YAML
and Jinja problems of `UNPARSED_FOR`, fail to parse the file. The validator's positions are compared with the tool's JSON paths through the validator's own
YAML loader (`LoadedSpec.locate`), the way it places its diagnostics.

What check-jsonschema does not read as Lumen does:

* Jinja: Lumen renders the text before parsing it, check-jsonschema parses the text as written, so a `{% if %}` line
  or an unquoted `{{ env(...) }}` is a YAML error to it. Such files are given to it twice: as written (a parse
  error is accepted for their Jinja rules) and as the validator reads them, every Jinja expression replaced by a
  same-length placeholder (`lumen_ext.validation.jinja.neutralise`), where the comparison applies in full.
* YAML whose syntax is broken is out of scope of a JSON Schema tool: it reports a parse error (`yaml-syntax`).
* `NOT_GIVEN_TO_THE_TOOL`: two files it cannot survive, each for the reason given.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from support.paths import EXAMPLE_SPECS, REPO

from lumen_ext.spec import check
from lumen_ext.spec.catalog import catalog
from lumen_ext.validation import validate_text
from lumen_ext.validation.jinja import neutralise
from lumen_ext.validation.loader import LoadedSpec, load_text

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
SCHEMA = REPO / "schemas" / "lumen-spec.schema.json"
EXAMPLES = REPO / "tests" / "examples"
VALID = [*EXAMPLE_SPECS, *sorted((EXAMPLES / "valid").glob("*.yaml"))]
INVALID = sorted((EXAMPLES / "invalid").glob("*.yaml"))

# Why each rule the invalid examples report, other than the spec grammar's errors, is no business of the schema.
_REFERENCE = (
    "a reference between sections: a JSON Schema checks each value, not that a name is declared elsewhere"
)
_DATA = "depends on the data files, which a JSON Schema never reads"
_SECURITY = "a rule of the server's security policy, about what a valid spec would do, not about its shape"
_JINJA = "Jinja runs on the text before YAML is parsed; the parsed data has no trace of it"
_LOCK = "compares the data (or the spec) with the spec's lock file, `lumen-ext lock`'s record of the data"
_TAG = "a YAML tag, gone once the file is parsed (check-jsonschema's safe loader refuses the file)"
BEYOND_THE_SCHEMA = {
    "yaml-syntax": "the YAML is broken: out of scope of a JSON Schema tool, which reports a parse error",
    "yaml-too-deep": "a limit of lumen-ext's checks (64 levels), not of the spec language",
    "duplicate-key": "PyYAML keeps the last value, so the data has no trace of the first one "
    "(check-jsonschema's ruamel.yaml refuses the file)",
    "unsafe-yaml-tag": _TAG,
    "unknown-yaml-tag": _TAG,
    "invalid-value": "only where it is not the spec grammar's: a pandas aggregation name (`method: summ`, a free "
    "string in Lumen's declaration), `bins` that are not pairs, a download format given as a string, a reference "
    "in a layout, SQL transforms on a source without SQL (`lumen_ext.spec.build_checks`: Lumen fails when it "
    "builds the dashboard, not when it validates the declarations the schema is generated from)",
    "unknown-type": "only where it is not the spec grammar's: a widget variable's `kind` (a Panel class name) and "
    "an `auth.plugins` type, resolved when Lumen builds the dashboard; and a class a local module lacks",
    "missing-key": "only where it is not the spec grammar's: `aggregate` without `by`, which Lumen's declaration "
    "does not require (pandas fails when the pipeline runs)",
    "jinja-syntax": _JINJA,
    "jinja-code-execution": _JINJA,
    "jinja-side-effect": _JINJA,
    "jinja-expression": _JINJA,
    "jinja-statement": _JINJA,
    "undefined-source": _REFERENCE,
    "undefined-pipeline": _REFERENCE,
    "undefined-table": _REFERENCE,
    "undefined-variable": _REFERENCE,
    "undefined-view": _REFERENCE,
    "invalid-reference": "the text inside a `$` reference string, which the schema takes as any reference",
    "layout-index": "compares a layout's grid with the number of its views",
    "source-and-pipeline": "two keys each valid alone; the spec grammar and the models leave the conflict to the "
    "reference checks, which say which key to keep",
    "missing-source": "whether a view gets a source depends on its layout's keys",
    "ambiguous-table": "depends on how many tables the named source declares",
    "unknown-column": _DATA,
    "missing-data-file": _DATA,
    "data-unchecked": _DATA,
    "duckdb-cwd": _DATA,
    "lock-column-missing": _LOCK,
    "lock-type-changed": _LOCK,
    "lock-stale": _LOCK,
    "lock-invalid": _LOCK,
    "missing-dependency": "depends on the packages installed",
    "lumen-runtime-bug": "valid Lumen syntax that Lumen 1.4.0 crashes on",
    "crossfilter-field": _DATA,
    "crossfilter-brush": "compares a view's `tools` with its `selection_group`, both valid alone",
    "editable": _SECURITY,
    "unsafe-callback": _SECURITY,
    "unsafe-import": _SECURITY,
    "auth-fail-open": _SECURITY,
    "unsafe-cache-dir": _SECURITY,
    "path-outside-project": _SECURITY,
    "unsafe-sql": _SECURITY,
    "secret-displayed": _SECURITY,
    "insecure-secret": _SECURITY,
    "viewer-code": _SECURITY,
    "viewer-sql": _SECURITY,
    "viewer-path": _SECURITY,
}
# The spec grammar's warnings, and what the schema does with them (its errors, the schema rejects).
GRAMMAR_WARNINGS = {
    "deprecated-key": "accepted, and marked `deprecated` for editors",
    "unknown-option": "hvPlot options are checked per `kind` by the validator; the schema lists every option of any "
    "kind, so it rejects (and editors flag) only an option no kind has, such as `knd`",
}
# Rules of the text itself: with one of them reported, check-jsonschema may fail to parse the file as written.
UNPARSED_FOR = {
    "yaml-syntax",
    "duplicate-key",
    "unsafe-yaml-tag",
    "unknown-yaml-tag",
    "jinja-statement",
    "jinja-expression",
    "jinja-side-effect",
    "jinja-code-execution",
}
NOT_GIVEN_TO_THE_TOOL = {
    "yaml_alias_bomb.yaml": "check-jsonschema copies the parsed data into plain dicts and lists, expanding every "
    "alias: this file's 100,000+ nodes ran for over a minute before being stopped (the validator refuses it)",
    "yaml_scalar_tags.yaml": "ruamel.yaml raises ValueError, not a YAML error, on `!!int three`: check-jsonschema "
    "0.39 crashes with a traceback and reports no file at all",
}


@dataclass
class ToolResult:
    errors: dict[str, list[dict[str, Any]]]  # file -> its validation errors, in the tool's order
    unparsed: set[str]
    copies: dict[str, str]  # example name -> the file with its Jinja neutralised


def run_check_jsonschema(jinja_dir: Path) -> ToolResult:
    """One run of the real CLI over every example (as written, and Jinja files as the validator reads them)."""
    assert CHECK_JSONSCHEMA.exists(), "in the test extra: pip install -c constraints.txt -e '.[test]'"
    given = [path for path in INVALID if path.name not in NOT_GIVEN_TO_THE_TOOL]
    copies = {}
    for path in given:
        text = path.read_text(encoding="utf-8")
        if re.search(r"\{\{|\{%", text):
            copy = jinja_dir / path.name
            copy.write_text(neutralise(text).text, encoding="utf-8")
            copies[path.name] = str(copy)
    files = [*map(str, VALID), *map(str, given), *copies.values()]
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), "--output-format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    errors: dict[str, list[dict[str, Any]]] = {}
    for error in report.get("errors", []):
        errors.setdefault(error["filename"], []).append(error)
    return ToolResult(errors, {error["filename"] for error in report.get("parse_errors", [])}, copies)


def test_check_jsonschema_agrees_with_the_validator(tmp_path):
    # One test, not one per file: each test process would start its own run (and xdist's `xdist_group` does not
    # keep a module's tests together under pytest 9).
    tool = run_check_jsonschema(tmp_path)
    valid = {str(path) for path in VALID}
    assert {name: errors for name, errors in tool.errors.items() if name in valid} == {}
    assert tool.unparsed & valid == set()

    disagreements = {}
    for path in INVALID:
        if path.name not in NOT_GIVEN_TO_THE_TOOL and (problem := disagreement(tool, path)):
            disagreements[path.name] = problem
    assert disagreements == {}

    # A `{% if %}` or `{% for %}` line and an unquoted `{{ env(...) }}` are YAML errors as written; their copies parse.
    unreadable = {Path(name).name for name in tool.unparsed} & set(tool.copies)
    assert unreadable == {
        "jinja_expression_and_statement.yaml",
        "jinja_side_effect.yaml",
        "jinja_statement_unclosed.yaml",
    }
    assert tool.unparsed & set(tool.copies.values()) == set()


def disagreement(tool: ToolResult, path: Path) -> str | None:
    """Why check-jsonschema's answer on one invalid example does not match the validator's, if it does not."""
    expected = expectation(path)
    if expected.beyond - set(BEYOND_THE_SCHEMA):
        return f"no reason in BEYOND_THE_SCHEMA for {sorted(expected.beyond - set(BEYOND_THE_SCHEMA))}"
    as_written = str(path)
    for name in [as_written, *([tool.copies[path.name]] if path.name in tool.copies else [])]:
        if name in tool.unparsed:
            # Only the text as written may be unreadable, and only for a problem of the text itself.
            if name != as_written or not expected.rules & UNPARSED_FOR:
                return f"{name}: check-jsonschema could not parse it"
            continue
        errors = tool.errors.get(name, [])
        found = [_span(expected.loaded, error) for error in errors]
        # Where the schema rejects is where the validator reports a shape error, so the first message is at one.
        if set(found) != expected.schema_spans:
            return f"{name}: expected errors at {sorted(expected.schema_spans)}, got " + "; ".join(
                f"{error['path']} (line {line}, column {column}): {error['message'][:160]}"
                for error, (line, column) in zip(errors, found, strict=True)
            )
    return None


@dataclass
class Expectation:
    """What the validator says about one invalid example, and where the schema must reject it."""

    loaded: LoadedSpec
    schema_spans: set[tuple[int, int]]  # (line, column) of each place the schema must reject
    beyond: set[str]  # the rules of the validator's other diagnostics
    rules: set[str]  # every rule it reports


@cache
def expectation(path: Path) -> Expectation:
    # Bytes decoded as they are (the BOM, CRLF and CR-only examples), as tests/validation/test_examples.py does.
    text = path.read_bytes().decode("utf-8")
    diagnostics = validate_text(text, path.name, path.parent).diagnostics
    loaded = load_text(text)
    hvplot = catalog(plugins=False).hvplot
    every_option = set(hvplot["common"]).union(*hvplot["per_kind"].values())
    grammar, spans = set(), set()
    for issue in check(loaded.data) if loaded.parsed else []:
        if loaded.templated(issue.path):
            continue  # the value comes out of Jinja or a rejected tag: unknown, so the validator is silent
        span = loaded.locate(issue.path, issue.target)
        grammar.add((span.line, span.column, issue.rule, issue.message))
        if issue.severity == "error" or (
            issue.rule == "unknown-option" and issue.path[-1] not in every_option
        ):
            spans.add((span.line, span.column))
    reported = {(d.line, d.column, d.rule, d.message) for d in diagnostics}
    assert grammar <= reported, "the validator reports every issue of the spec grammar"
    beyond = {rule for *_, rule, _ in reported - grammar}
    return Expectation(loaded, spans, beyond, {d.rule for d in diagnostics})


def test_every_reason_is_used():
    """The tables list exactly the rules the invalid examples report beyond the spec grammar."""
    assert set(NOT_GIVEN_TO_THE_TOOL) <= {path.name for path in INVALID}
    given = [path for path in INVALID if path.name not in NOT_GIVEN_TO_THE_TOOL]
    assert set().union(*(expectation(path).beyond for path in given)) == set(BEYOND_THE_SCHEMA)
    assert set().union(*(expectation(path).rules for path in given)) >= UNPARSED_FOR


_UNEXPECTED = re.compile(r"\('(.+)' (?:was|were) unexpected\)$")
_PATH_PART = re.compile(r"\.([A-Za-z][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def _span(loaded: LoadedSpec, error: dict[str, Any]) -> tuple[int, int]:
    """Where the validator would point for the tool's error: the key for an unexpected key, the mapping for a
    missing one, the value otherwise (the targets of `lumen_ext.spec.SchemaIssue`)."""
    path: list[Any] = []
    for name, index, quoted in _PATH_PART.findall(error["path"].removeprefix("$")):
        path.append(name or (int(index) if index else re.sub(r"\\(.)", r"\1", quoted)))
    message = error["message"]
    if unexpected := _UNEXPECTED.search(message):
        # One key per error in these examples; several would be listed "'a', 'b' were unexpected".
        span = loaded.locate((*path, unexpected.group(1)), "key")
    elif message.endswith("is a required property"):
        span = loaded.locate(tuple(path), "mapping")
    else:
        span = loaded.locate(tuple(path), "value")
    return span.line, span.column
