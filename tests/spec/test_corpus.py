"""Every spec of the shared Lumen corpus is accepted by the checker, the pydantic models and the JSON Schema."""

from __future__ import annotations

import pytest
from spec.helpers import SPEC_IDS, SPECS, load_corpus_spec

from lumen_ext.spec import check

pytestmark = pytest.mark.skipif(not SPECS, reason="the Lumen corpus is not available")


@pytest.mark.parametrize("entry", SPECS, ids=SPEC_IDS)
def test_checker_accepts_corpus_spec(entry):
    issues = [i for i in check(load_corpus_spec(entry)) if i.severity == "error"]
    assert issues == []


@pytest.mark.parametrize("entry", SPECS, ids=SPEC_IDS)
def test_models_accept_corpus_spec(entry, dashboard_model):
    dashboard_model.model_validate(load_corpus_spec(entry))


def test_json_schema_accepts_whole_corpus(schema_validator):
    # One test for all 20 specs, one pass each, every failure listed.
    failures = {}
    for entry in SPECS:
        errors = list(schema_validator.iter_errors(load_corpus_spec(entry)))
        if errors:
            failures[entry["id"]] = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]
    assert failures == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"sources": {"a": {"type": "file", "tabels": {"t": "t.csv"}}}},
        {"config": {"ncols": "three"}},
        {"layouts": [{"title": "x", "views": [{"type": "hvplot", "knd": "line"}]}]},
        {"layouts": {"title": "x", "views": []}},
        {"pipelines": {"p": {"source": "a", "filters": [{"type": "widgte", "field": "x"}]}}},
    ],
    ids=["unknown-source-key", "wrong-type", "hvplot-typo", "missing-dash", "unknown-filter-type"],
)
def test_json_schema_rejects_invalid_spec(schema_validator, spec):
    assert not schema_validator.is_valid(spec)
    assert check(spec), "the checker must reject what the schema rejects"
