"""The committed JSON Schema accepts every spec of the project (specs/ and tests/examples/valid/), as an editor
or `check-jsonschema --schemafile schemas/lumen-spec.schema.json` would read them (test_check_jsonschema.py runs
the real tool), and sends a dotted `type:` path of a known class to that class's branch only. The checks files'
schema accepts every checks file of the project and refuses what `lumen-ext validate` refuses in one."""

from __future__ import annotations

import json

import pytest
import yaml
from spec.helpers import load_spec_text
from support.paths import EXAMPLE_SPECS, REPO, SPECS_DIR

PROJECT_SPECS = [*EXAMPLE_SPECS, *sorted((REPO / "tests" / "examples" / "valid").glob("*.yaml"))]
PROJECT_CHECKS = [
    *sorted(SPECS_DIR.glob("*.checks")),
    *sorted((REPO / "tests" / "examples" / "valid").glob("*.checks")),
]


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


def _as_an_editor_reads(path) -> object:
    """YAML 1.2, as yaml-language-server reads it: `2024-04-01` is a string, not a date."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def test_checks_schema_accepts_every_project_checks_file():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "schemas" / "lumen-checks.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert len(PROJECT_CHECKS) >= 7
    failures = {
        path.name: [
            f"{list(e.absolute_path)}: {e.message[:200]}"
            for e in validator.iter_errors(_as_an_editor_reads(path))
        ]
        for path in PROJECT_CHECKS
    }
    assert {name: errors for name, errors in failures.items() if errors} == {}
    broken = {
        "pipelines": {"p": {"not_emtpy": True, "columns": {"x": "floaty"}}},
        "layouts": {"L": {"first_render": "2 min"}},
    }
    assert {tuple(e.absolute_path) for e in validator.iter_errors(broken)} == {
        ("pipelines", "p"),
        ("pipelines", "p", "columns"),  # the anyOf of an optional mapping reports at the mapping
        ("layouts", "L", "first_render"),
    }
