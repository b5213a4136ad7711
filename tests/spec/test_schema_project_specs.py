"""The committed JSON Schema accepts every spec of the project (specs/ and tests/examples/valid/), as an editor
or `check-jsonschema --schemafile schemas/lumen-spec.schema.json` would read them (test_check_jsonschema.py runs
the real tool), and sends a dotted `type:` path of a known class to that class's branch only."""

from __future__ import annotations

import pytest
from spec.helpers import load_spec_text
from support.paths import EXAMPLE_SPECS, REPO

PROJECT_SPECS = [*EXAMPLE_SPECS, *sorted((REPO / "tests" / "examples" / "valid").glob("*.yaml"))]


def test_json_schema_accepts_every_project_spec(schema_validator):
    # One test, one pass per spec, every failure listed.
    failures = {}
    for path in PROJECT_SPECS:
        errors = list(schema_validator.iter_errors(load_spec_text(path.read_text(encoding="utf-8"))))
        if errors:
            failures[path.relative_to(REPO).as_posix()] = [
                f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors
            ]
    assert failures == {}


@pytest.mark.parametrize(
    ("family_key", "spec"),
    [
        ("sources", {"type": "lumen_ext.sources.dask.DaskSource", "tables": {"t": "t.parquet"}}),
        ("sources", {"type": "lumen.sources.base.InMemorySource"}),
        ("sources", {"type": "my_pkg.sources.MySource", "anything": 1}),
        ("sources", {"type": "dask", "tables": {"t": "t.parquet"}}),
    ],
    ids=["lumen-ext-dotted", "lumen-dotted", "custom-dotted", "short-name"],
)
def test_dotted_type_matches_exactly_one_branch(schema_validator, family_key, spec):
    assert schema_validator.is_valid({family_key: {"s": spec}})


def test_custom_branch_excludes_known_dotted_names():
    """The custom branch's pattern leaves known classes to their own branch, and still takes any other path."""
    import re

    from lumen_ext.spec.models import custom_type_schema_pattern

    pattern = custom_type_schema_pattern({"file": {}, "lumen_ext.sources.dask.DaskSource": {}})
    assert not re.search(pattern, "lumen_ext.sources.dask.DaskSource")
    assert re.search(pattern, "lumen_ext.sources.dask.DaskSourceV2")
    assert re.search(pattern, "my.lumen_ext.sources.dask.DaskSource")
    assert re.search(pattern, "{{ source_type }}")
    assert not re.search(pattern, "file")
    assert custom_type_schema_pattern({"file": {}}) == r"\.|\{\{"
