"""One row per rule: a broken spec, and the exact issue `check` must report for it."""

from __future__ import annotations

import pytest

from lumen_ext.spec import RULES, SchemaIssue, check, check_all

PIPE = {"source": "s", "table": "t"}
SRC = {"s": {"type": "file", "tables": {"t": "t.csv"}}}


def layout(*views, **extra):
    return {
        "sources": SRC,
        "pipelines": {"p": PIPE},
        "layouts": [{"title": "L", "pipeline": "p", "views": list(views), **extra}],
    }


CASES = [
    (
        {"config": {"titel": "x"}},
        SchemaIssue(
            ("config", "titel"),
            "unknown-key",
            "Config has no key 'titel'",
            "did you mean 'title'?",
            target="key",
        ),
    ),
    (
        {"sources": {"penguins": {"type": "file", "tabels": {"t": "t.csv"}}}},
        SchemaIssue(
            ("sources", "penguins", "tabels"),
            "unknown-key",
            "FileSource 'penguins' has no key 'tabels'",
            "did you mean 'tables'?",
            target="key",
        ),
    ),
    (
        {"sources": {"penguins": {"type": "fiel"}}},
        SchemaIssue(
            ("sources", "penguins", "type"),
            "unknown-type",
            "Source 'penguins' declares unknown type 'fiel'",
            "did you mean 'file'?",
        ),
    ),
    (
        {"sources": SRC, "pipelines": {"p": {**PIPE, "transforms": [{"type": "aggregat"}]}}},
        SchemaIssue(
            ("pipelines", "p", "transforms", 0, "type"),
            "unknown-type",
            "Transform declares unknown type 'aggregat'",
            "did you mean 'aggregate'?",
        ),
    ),
    (
        {"layouts": [{"views": []}]},
        SchemaIssue(("layouts", 0), "missing-key", "Layout requires 'title'", None, target="mapping"),
    ),
    (
        {"sources": SRC, "pipelines": {"p": {"table": "t"}}},
        SchemaIssue(
            ("pipelines", "p"),
            "missing-key",
            "Pipeline 'p' requires 'source' or 'pipeline'",
            None,
            target="mapping",
        ),
    ),
    (
        {"config": {"ncols": "three"}},
        SchemaIssue(
            ("config", "ncols"), "invalid-type", "Config key 'ncols' expects an integer, got a string"
        ),
    ),
    (
        {"layouts": {"title": "x", "views": []}},
        SchemaIssue(
            ("layouts",),
            "invalid-type",
            "Dashboard key 'layouts' expects a list, got a mapping",
            "a missing '-' in the YAML turns a list into a mapping",
        ),
    ),
    (
        {"config": {"theme": "darkk"}},
        SchemaIssue(
            ("config", "theme"),
            "invalid-value",
            "Config key 'theme' got 'darkk', which is not a valid choice",
            "did you mean 'dark'?",
        ),
    ),
    (
        layout({"type": "hvplot", "knd": "line"}),
        SchemaIssue(
            ("layouts", 0, "views", 0, "knd"),
            "unknown-option",
            "hvPlotView has no option 'knd' (hvPlot would ignore it)",
            "did you mean 'kind'?",
            severity="warning",
            target="key",
        ),
    ),
    (
        layout({"type": "hvplot", "kind": "scater"}),
        SchemaIssue(
            ("layouts", 0, "views", 0, "kind"),
            "invalid-value",
            "hvPlotView key 'kind' got 'scater', which is not a valid choice",
            "did you mean 'scatter' or 'step'?",
        ),
    ),
    (
        layout({"type": "hvplot", "kind": "points", "bins": 20}),
        SchemaIssue(
            ("layouts", 0, "views", 0, "bins"),
            "unknown-option",
            "hvPlotView option 'bins' is not valid for kind 'points'",
            "'bins' applies to kind 'hist'",
            severity="warning",
            target="key",
        ),
    ),
    (
        layout({"type": "table", "page_sise": 20}),
        SchemaIssue(
            ("layouts", 0, "views", 0, "page_sise"),
            "unknown-key",
            "Table has no key 'page_sise'",
            "did you mean 'page_size' or 'page' or 'initial_page_size'?",
            target="key",
        ),
    ),
    (
        layout({"type": "table"}, sort=["x"]),
        SchemaIssue(
            ("layouts", 0, "sort"),
            "deprecated-key",
            "Layout 'L' key 'sort' is deprecated",
            "use 'facet: {sort: ...}' instead",
            severity="warning",
            target="key",
        ),
    ),
    (
        layout({"type": "table"}, layout=[[0, 1], [{"a": 1}]]),
        SchemaIssue(
            ("layouts", 0, "layout", 1, 0),
            "invalid-type",
            "Layout 'L' key 'layout' grid entries must be view indices or names, got a mapping",
        ),
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), CASES, ids=[f"{c[1].rule}:{'.'.join(map(str, c[1].path))}" for c in CASES]
)
def test_reports_exactly_this_issue(spec, expected):
    assert check(spec) == [expected]


def test_every_rule_is_exercised():
    assert {expected.rule for _, expected in CASES} == set(RULES)


@pytest.mark.parametrize(
    "value",
    [
        "$variables.n",
        "$penguins.penguins.species",
        "$source",
        "${variables.x}",
        "{{ env('N') }}",
        "@raw",
        "n is $variables.n",
    ],
)
def test_references_and_templates_pass_any_field(value):
    spec = layout({"type": "table", "page_size": value}, refresh_rate=value if "{{" in value else 1000)
    spec["config"] = {"ncols": value}
    assert check(spec) == []


def test_layout_refuses_references_like_lumen():
    # Layout._allows_refs is False: Component._validate_spec_ refuses any value that is a reference, before
    # looking at its type (base.py:575), `$variables.x Analysis` in a title included.
    # The spec grammar (what the JSON Schema says) sees a string where an integer goes; the build check the
    # reference, where the grammar has nothing to say.
    issues = check_all({"layouts": [{"title": "L", "views": [], "refresh_rate": "$variables.n"}]})
    assert [i.rule for i in issues] == ["invalid-type"]
    issues = check_all({"layouts": [{"title": "$variables.x Analysis", "views": []}]})
    assert [(i.path, i.rule) for i in issues] == [(("layouts", 0, "title"), "invalid-value")]
    assert "does not allow references" in issues[0].message


@pytest.mark.parametrize(
    "spec",
    [
        {"variables": {"n": 5, "names": ["a", "b"], "flag": True}},  # shorthand constants
        {
            "sources": SRC,
            "pipelines": {"p": {**PIPE, "precache": {"filters": {"x": [1, 2]}}}},
        },  # runtime-only
        {"sources": SRC, "pipelines": {"p": {**PIPE, "filters": "auto"}}},
        {"sources": SRC, "pipelines": {"p": {**PIPE, "filters": {"s": {"type": "widget", "field": "x"}}}}},
        {"sources": {"s": {"type": "my_pkg.sources.MySource", "anything": 1}}},  # dotted path type
        {"sources": {"s": {"type": "snowflake", "account": "x"}}},  # optional back-end, not installed
        layout({"type": "table"}, layout=[["a", [0, "b"]], [1]]),
        layout({"type": "hvplot", "kind": "hist", "y": "x", "bins": 20, "fill_color": "red"}),
        layout({"type": "hvplot", "kind": "$variables.kind", "bins": 20}),
        layout({"type": "indicator", "indicator": "number", "format": "{value}", "default_color": "white"}),
        layout({"type": "table", "layout": "fit_data_fill", "theme": "midnight", "margin": [0, 100]}),
        {"config": {"template": {"type": "vanilla", "collapsed_sidebar": True}}},
        {"config": {"template": "my_pkg.templates.MyTemplate", "on_loaded": "my_pkg.hooks.loaded"}},
        {
            "targets": [{"title": "T", "source": "s", "views": [{"type": "table", "table": "t"}]}],
            "sources": SRC,
        },
    ],
    ids=[
        "shorthand-variables",
        "precache",
        "filters-auto",
        "filters-dict",
        "dotted-type",
        "optional-source",
        "grid-of-names",
        "hvplot-hist-options",
        "hvplot-kind-ref",
        "indicator-kwargs",
        "tabulator-params",
        "template-dict",
        "dotted-paths",
        "legacy-targets",
    ],
)
def test_shapes_lumen_accepts_at_run_time(spec):
    assert [i for i in check(spec) if i.severity == "error"] == []


def test_template_params_is_accepted_with_a_deprecation():
    issues = check({"config": {"template_params": {"collapsed_sidebar": True}}})
    assert [(i.rule, i.severity) for i in issues] == [("deprecated-key", "warning")]


def test_all_issues_reported_at_once_without_duplicates():
    spec = {
        "config": {"titel": "x", "theme": "darkk"},
        "sources": {"a": {"type": "fiel"}, "b": {"type": "file", "tabels": {}}},
        "layouts": [{"titel": "x", "views": [{"type": "hvplot", "knd": "line"}]}],
    }
    issues = check(spec)
    assert len(issues) == len(set(issues)) == 7
