"""A component's own key dedented to the level of the component names reads as a component named after it."""

from __future__ import annotations

import pytest

from lumen_ext.spec import check

SOURCE = {"s": {"type": "file", "tables": {"t": "t.csv"}}}


@pytest.mark.parametrize(
    ("spec", "path", "rule", "message", "hint"),
    [
        (
            {
                "sources": SOURCE,
                "pipelines": {"p": {"source": "s", "table": "t"}, "filters": [{"type": "widget"}]},
            },
            ("pipelines", "filters"),
            "invalid-type",
            "Pipeline 'filters' must be a mapping, not a list: YAML read a pipeline named 'filters' because "
            "`filters:` is indented like the pipeline names",
            "'filters' is a pipeline key: indent `filters:` and the lines under it one level deeper, "
            "under pipeline 'p'",
        ),
        (
            {"sources": SOURCE, "pipelines": {"transforms": [{"type": "sort"}]}},
            ("pipelines", "transforms"),
            "invalid-type",
            "Pipeline 'transforms' must be a mapping, not a list: YAML read a pipeline named 'transforms' because "
            "`transforms:` is indented like the pipeline names",
            "'transforms' is a pipeline key: indent `transforms:` and the lines under it one level deeper, "
            "under the pipeline it belongs to",
        ),
        (
            {"sources": {"s": {"type": "file"}, "tables": {"t": "t.csv"}}},
            ("sources", "tables"),
            "missing-key",
            "Source 'tables' does not declare a 'type': YAML read a source named 'tables' because `tables:` is "
            "indented like the source names",
            "'tables' is a source key: indent `tables:` and the lines under it one level deeper, under source 's'",
        ),
    ],
    ids=["pipeline-filters", "first-pipeline-transforms", "source-tables"],
)
def test_dedented_key_is_named_as_such(spec, path, rule, message, hint):
    issues = [i for i in check(spec) if i.path == path]
    assert [(i.rule, i.message, i.hint) for i in issues] == [(rule, message, hint)]


def test_component_named_like_a_key_with_a_mapping_is_still_a_component():
    # A pipeline may be named `filters`; only a non-mapping value suggests a dedented key.
    spec = {"sources": SOURCE, "pipelines": {"filters": {"source": "s", "table": "t"}}}
    assert [i for i in check(spec) if i.severity == "error"] == []
