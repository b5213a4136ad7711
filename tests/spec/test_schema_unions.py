"""The JSON Schema's unions pick one branch from the value, report errors inside it, and accept what they did."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec.helpers import SPECS, load_corpus_spec, load_spec_text
from support.paths import EXAMPLE_SPECS, REPO

from lumen_ext.spec.schema_unions import pick_by_json_type

REFERENCE = {"type": "string", "pattern": r"^[$@]|\{\{"}


def rewritten(properties: dict) -> jsonschema.Draft202012Validator:
    schema = {"$defs": {"LumenReference": REFERENCE}, "type": "object", "properties": properties}
    return jsonschema.Draft202012Validator(pick_by_json_type(schema))


def errors(validator, instance) -> list[tuple[str, str]]:
    return [(e.json_path, e.message) for e in validator.iter_errors(instance)]


REF = {"$ref": "#/$defs/LumenReference"}


def test_a_reference_is_tried_first_and_any_other_string_gets_the_real_type():
    validator = rewritten({"n": {"anyOf": [{"type": "integer", "minimum": 1}, REF, {"type": "null"}]}})
    assert errors(validator, {"n": "three"}) == [("$.n", "'three' is not of type 'integer', 'null'")]
    assert errors(validator, {"n": 0}) == [("$.n", "0 is less than the minimum of 1")]
    for good in (3, None, "$variables.n", "{{ n }}"):
        assert errors(validator, {"n": good}) == []


def test_containers_are_merged_by_type_and_errors_reported_inside():
    item = {"type": "object", "properties": {"x": {"type": "integer"}}, "additionalProperties": False}
    validator = rewritten(
        {"v": {"anyOf": [{"type": "array", "items": item}, {"type": "object", "additionalProperties": item}]}}
    )
    schema = validator.schema["properties"]["v"]
    assert schema["type"] == ["object", "array"] and "anyOf" not in schema
    assert errors(validator, {"v": [{"x": 1}, {"y": 1}]}) == [
        ("$.v[1]", "Additional properties are not allowed ('y' was unexpected)")
    ]
    assert errors(validator, {"v": {"a": {"x": "1"}}}) == [("$.v.a.x", "'1' is not of type 'integer'")]
    assert errors(validator, {"v": "x"}) == [("$.v", "'x' is not of type 'object', 'array'")]


def test_choices_become_one_enum_and_stay_visible_to_completion():
    validator = rewritten({"theme": {"anyOf": [{"enum": ["default", "dark"]}, REF, {"type": "null"}]}})
    schema = validator.schema["properties"]["theme"]
    assert schema["else"] == {"enum": ["default", "dark", None]}
    assert schema["examples"] == ["default", "dark"]  # yaml-language-server completes from `examples`
    assert errors(validator, {"theme": "darkk"}) == [
        ("$.theme", "'darkk' is not one of ['default', 'dark', None]")
    ]


def test_a_union_with_any_value_is_any_value():
    assert rewritten({"f": {"anyOf": [{}, {"type": "null"}], "title": "F"}}).schema["properties"]["f"] == {
        "title": "F"
    }


def test_a_component_union_is_behind_if_type_object():
    defs = {
        "LumenReference": REFERENCE,
        "Thing": {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
    }
    schema = {
        "$defs": defs,
        "type": "object",
        "properties": {"t": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/Thing"}, REF]}},
    }
    validator = jsonschema.Draft202012Validator(pick_by_json_type(schema))
    assert validator.schema["properties"]["t"] == {
        "type": ["object", "string"],
        "allOf": [{"if": {"type": "object"}, "then": {"$ref": "#/$defs/Thing"}}],
    }
    assert errors(validator, {"t": {"b": 1}}) == [
        ("$.t", "Additional properties are not allowed ('b' was unexpected)")
    ]
    assert errors(validator, {"t": "name"}) == []


# -- the committed schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"type": "fiel"}, [("$.sources.s.type", "'fiel' is not one of")]),
        ({"tables": {}}, [("$.sources.s", "'type' is a required property")]),
        (
            {"type": "file", "tabels": {}},
            [("$.sources.s", "Additional properties are not allowed ('tabels'")],
        ),
        (
            {"type": "lumen_ext.sources.dask.DaskSource", "tabels": {}},
            [("$.sources.s", "Additional properties are not allowed ('tabels'")],
        ),
        ({"type": ["file"]}, [("$.sources.s.type", "['file'] is not of type 'string'")]),
        ({"type": "my_pkg.sources.MySource", "anything": 1}, []),
        ({"type": "snowflake", "account": "x"}, []),  # an optional back-end: Lumen imports it by name
        ({"type": "{{ source_type }}", "anything": 1}, []),
        ({"type": "file", "tables": {"t": "t.csv"}, "cache_dir": "{{ CACHE }}"}, []),
    ],
    ids=[
        "unknown-type",
        "missing-type",
        "file-unknown-key",
        "dotted-known-unknown-key",
        "type-not-a-string",
        "dotted-custom",
        "optional-back-end",
        "jinja-type",
        "jinja-value",
    ],
)
def test_a_component_picks_its_branch_from_type(schema_validator, source, expected):
    found = [(e.json_path, e.message) for e in schema_validator.iter_errors({"sources": {"s": source}})]
    assert len(found) == len(expected), found
    for (path, message), (expected_path, start) in zip(found, expected, strict=True):
        assert (path, message[: len(start)]) == (expected_path, start)


def test_every_union_picks_one_branch():
    """No `anyOf`/`oneOf` is left outside an `if` condition: a validator never guesses a branch."""
    schema = json.loads((REPO / "schemas" / "lumen-spec.schema.json").read_text())
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            found.extend(f"{path}/{key}" for key in ("anyOf", "oneOf") if key in node)
            for key, value in node.items():
                if key != "if":  # a condition's alternatives report no errors
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(schema, "#")
    assert found == []


# -- the rewrite is exact ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both_schemas():
    """The schema as pydantic writes it (unions as `anyOf`) and as committed (rewritten)."""
    from lumen_ext.spec.schema import build, pydantic_schema

    return (
        jsonschema.Draft202012Validator(pydantic_schema(plugins=False)),
        jsonschema.Draft202012Validator(build(plugins=False)),
    )


def _project_specs() -> list:
    paths = [*EXAMPLE_SPECS, *sorted((REPO / "tests" / "examples" / "valid").glob("*.yaml"))]
    return [load_spec_text(p.read_text(encoding="utf-8")) for p in paths] + [
        load_corpus_spec(e) for e in SPECS
    ]


BASES = _project_specs()
REPLACEMENTS = st.sampled_from(
    [
        None,
        True,
        0,
        3,
        -1,
        2.5,
        "x",
        "auto",
        "file",
        "hvplot",
        "$variables.x",
        "{{ y }}",
        "a.b.C",
        [],
        ["x"],
        [[0, 1]],
        {},
        {"type": "file"},
        {"type": "table"},
        {"type": "widget", "field": "x"},
        {"type": "bogus"},
        {"x": 1},
    ]
)


def _nodes(data, path=()):
    """Every path into ``data`` (mapping keys and list indices), the root included."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _nodes(value, (*path, index))


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_rewrite_accepts_exactly_what_the_unions_accepted(both_schemas, data):
    """Project and corpus specs with one value replaced, one key added or one key removed: both schemas agree."""
    before, after = both_schemas
    spec = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    path = data.draw(st.sampled_from(list(_nodes(spec))))
    parent = spec
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "add", "remove"]))
    if not path or action == "add":
        target = parent[path[-1]] if path else spec
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(["type", "kind", "title", "x", "views", "tables"]))] = data.draw(
                REPLACEMENTS
            )
    elif action == "remove" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(REPLACEMENTS)
    assert before.is_valid(spec) == after.is_valid(spec), json.dumps(spec, default=str)[:2000]
