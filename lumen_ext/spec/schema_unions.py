"""Unions in the JSON Schema written so that a validator picks one branch and reports the error inside it.

Pydantic writes a union as ``anyOf`` (``oneOf`` for the component families). A validator cannot tell which
branch the user meant, so jsonschema and check-jsonschema stop at the union ("... is not valid under any of the
given schemas") and guess a branch for the details, often the wrong one (``'dask' was expected`` for a misspelled
key of a file source). Two rewrites let every union pick its branch from the value itself:

* a component family (``SourceUnion``, ``ViewUnion``...) picks by ``type``: an ``allOf`` of
  ``if: {properties: {type: {const: NAME}}}`` / ``then: {$ref: <its model>}``, one per class, and one for
  dotted import paths (`FamilyUnionSchema`); a ``type`` that names nothing fails on ``type`` itself;
* every other union picks by JSON type (`pick_by_json_type`): a ``type`` list, the branch of each JSON type
  merged in when its keywords only constrain that type (``items``, ``additionalProperties``, ``pattern``...) and
  behind ``if: {type: T}`` / ``then:`` otherwise. A reference (``$variables.x``, Jinja text...) is tried first
  (``if: {$ref: LumenReference}``), so any other string gets the error of the type the key really takes
  (``'three' is not of type 'integer'``).

Both rewrites accept exactly what the unions accepted. ``if``/``then`` and ``allOf`` report their errors at the
value itself, so a validator's first message names the key that is wrong (``tests/spec/test_check_jsonschema.py``
runs check-jsonschema on the examples). yaml-language-server follows ``allOf``/``if``/``then``/``else`` when it
collects the keys to complete, but completes a key's *value* only from that key's own ``enum``, ``const`` and
``examples`` (and those under its ``anyOf``/``allOf``/``oneOf``): the choices a rewrite puts under ``if`` are
repeated as ``examples``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic_core import core_schema as cs

# The shared definition of a value Lumen resolves later (`$variables.x`, Jinja text...): see `models.Reference`.
REFERENCE_DEF = "LumenReference"
REFERENCE_REF = f"#/$defs/{REFERENCE_DEF}"

# Keywords that constrain only instances of one JSON type (JSON Schema 2020-12, validation vocabulary).
_ONLY_FOR = {
    "object": {
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "required",
        "minProperties",
        "maxProperties",
        "dependentRequired",
    },
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"},
    "string": {"pattern", "minLength", "maxLength", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "boolean": set(),
    "null": set(),
}
# The order of the `type` list and of the `if: {type: T}` clauses (containers first: they carry the errors).
_GROUPS = ("object", "array", "string", "number", "boolean", "null")
_ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "$comment"}


@dataclass(frozen=True)
class FamilyUnionSchema:
    """Annotation of a component family's union: its JSON Schema picks the branch from ``type``.

    ``names`` are the ``type`` names offered for completion and accepted besides what ``any_custom_pattern``
    matches (dotted paths, Jinja text). ``custom_tag`` is the union's tag of the model taking any dotted path;
    ``custom_pattern`` selects it, leaving the known dotted names to their own classes.
    """

    title: str
    names: tuple[str, ...]
    custom_tag: str
    custom_pattern: str
    any_custom_pattern: str

    def __get_pydantic_json_schema__(
        self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        choices = schema["choices"]  # type: ignore[typeddict-item]  # a tagged union: the family's models by tag
        branches = {tag: handler(choice) for tag, choice in choices.items() if tag != self.custom_tag}
        return family_union(self, branches, handler(choices[self.custom_tag]))


def family_union(
    family: FamilyUnionSchema, branches: dict[str, dict[str, Any]], custom: dict[str, Any]
) -> dict[str, Any]:
    """One family's schema: ``type`` is a known name or a dotted path, and selects the model of the rest."""

    def when_type(type_schema: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
        # `type: object` in the condition: `properties`/`required` hold vacuously for any other value, which
        # would apply every branch to it (and repeat "not of type 'object'" once per class).
        condition = {"type": "object", "required": ["type"], "properties": {"type": type_schema}}
        return {"if": condition, "then": then}

    names = list(family.names)
    return {
        "title": family.title,
        "description": f"A {family.title}: `type` names its class, or gives a dotted import path "
        "(`my_pkg.module.Class`); the other keys are those of that class.",
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {
                "description": f"The {family.title} class: one of Lumen's names, or a dotted import path.",
                "type": "string",
                # Dotted paths and Jinja text are open; anything else must be a name the family knows.
                "if": {"pattern": family.any_custom_pattern},
                "else": {"enum": names},
                "examples": names,
            }
        },
        "allOf": [
            *(when_type({"const": tag}, ref) for tag, ref in branches.items()),
            when_type({"type": "string", "pattern": family.custom_pattern}, custom),
        ],
    }


def pick_by_json_type(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``anyOf`` whose branches the JSON type tells apart rewritten (see the module)."""
    return _Rewriter(schema.get("$defs", {})).node(schema)


class _Rewriter:
    def __init__(self, defs: dict[str, Any]):
        self.defs = defs  # as generated: `$ref` branches resolve here (the rewrite keeps each def's types)
        self.resolving: set[str] = set()

    def node(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.node(item) for item in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("anyOf"), list):
            # Flattened before the options are rewritten, so `Optional[Annotated[int, Reference]]` is one
            # union of integer, reference and null rather than a union of unions.
            node = {**node, "anyOf": _flatten(node["anyOf"])}
        out = {key: self.node(value) for key, value in node.items()}
        return self.union(out) if isinstance(out.get("anyOf"), list) else out

    # -- JSON types --------------------------------------------------------------------------------------

    def types(self, node: Any) -> frozenset[str] | None:
        """The JSON types ``node`` admits ("integer" within "number"); None when it may admit any."""
        if not isinstance(node, dict):
            return frozenset() if node is False else None
        found: frozenset[str] | None = None

        def meet(types: frozenset[str] | None) -> None:
            nonlocal found
            if types is not None:
                found = types if found is None else _meet(found, types)

        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in self.defs and name not in self.resolving:
                self.resolving.add(name)
                try:
                    meet(self.types(self.defs[name]))
                finally:
                    self.resolving.discard(name)
        if "type" in node:
            meet(frozenset(_as_list(node["type"])))
        if "const" in node:
            meet(frozenset({_json_type(node["const"])}))
        if "enum" in node:
            meet(frozenset(_json_type(value) for value in node["enum"]))
        if isinstance(node.get("anyOf"), list):
            options = [self.types(option) for option in node["anyOf"]]
            if all(option is not None for option in options):
                meet(_join(options))  # type: ignore[arg-type]
        if "if" in node and "else" in node and "then" not in node:
            # The reference form of `union`: what `if` takes, or else what `else` takes.
            either = [self.types(node["if"]), self.types(node["else"])]
            if all(part is not None for part in either):
                meet(_join(either))  # type: ignore[arg-type]
        for part in node.get("allOf", []):
            meet(self.types(part))
        return found

    # -- the rewrite -------------------------------------------------------------------------------------

    def union(self, node: dict[str, Any]) -> dict[str, Any]:
        options = node["anyOf"]
        annotations = {key: value for key, value in node.items() if key in _ANNOTATIONS}
        if any(option in ({}, True) for option in options):
            return annotations  # `Any | None`: every value
        reference = {"$ref": REFERENCE_REF} in options
        rest = [option for option in options if option != {"$ref": REFERENCE_REF}]
        types = [self.types(option) for option in rest]
        if not rest or any(t is None for t in types) or set(node) - _ANNOTATIONS - {"anyOf"}:
            return node  # an option may be any JSON type (or the node says more): nothing to tell apart
        declared = _join(types)  # type: ignore[arg-type]
        picked = self.by_type(rest, types, declared)  # type: ignore[arg-type]
        if reference and not _takes_every_string(picked):
            # A reference string passes; any other value must be what the key really takes, and gets that
            # error alone (a `type` list here as well would repeat it as "not of type ..., 'string', ...").
            picked = {"if": {"$ref": REFERENCE_REF}, "else": picked}
        choices = [value for value in _hidden_choices(picked) if value is not None]
        if choices and "examples" not in annotations:
            picked["examples"] = _unique(choices)
        return {**annotations, **picked}

    def by_type(
        self, options: list[dict[str, Any]], types: list[frozenset[str]], declared: frozenset[str]
    ) -> dict[str, Any]:
        """One schema taking what one of ``options`` takes, each checked only against values of its types."""
        if all(_only_values(option) for option in options):
            # Literal[...] | None and friends: one enum says it all.
            return {"enum": _unique([value for option in options for value in _values(option)])}
        merged: dict[str, Any] = {"type": _type_list(declared)}
        clauses: list[dict[str, Any]] = []
        for group in _GROUPS:
            in_group = _subsumed_dropped(
                [option for option, t in zip(options, types, strict=True) if group in _groups(t)]
            )
            if not in_group or any(_is_whole(option, group, declared) for option in in_group):
                continue
            if len(in_group) == 1 and _mergeable(in_group[0], group, merged):
                merged.update({key: value for key, value in in_group[0].items() if key != "type"})
                continue
            then = in_group[0] if len(in_group) == 1 else {"anyOf": in_group}
            clauses.append({"if": {"type": _group_type(group, declared)}, "then": then})
        if clauses:
            merged["allOf"] = clauses
        return merged


def _subsumed_dropped(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Without the options another one covers: same keywords, a wider ``type`` (``integer`` within ``number``)."""

    def widens(wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
        rest = {key: value for key, value in wide.items() if key != "type"}
        # Equal options cannot both be here: `_flatten` keeps one of them.
        if wide == narrow or rest != {key: value for key, value in narrow.items() if key != "type"}:
            return False
        if "type" not in wide:
            return True
        wide_types = set(_as_list(wide["type"]))
        narrow_types = set(_as_list(narrow.get("type", [])))
        if "number" in wide_types:
            wide_types.add("integer")
        return "type" in narrow and narrow_types <= wide_types

    return [option for option in options if not any(widens(other, option) for other in options)]


def _unique(values: list[Any]) -> list[Any]:
    """``values`` without repeats (``1`` and ``True`` are different values in JSON)."""
    out: list[Any] = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in out):
            out.append(value)
    return out


def _flatten(options: list[Any]) -> list[Any]:
    """Nested ``anyOf`` lists as one, without repeated options."""
    out: list[Any] = []
    for option in options:
        for item in (
            _flatten(option["anyOf"]) if isinstance(option, dict) and set(option) == {"anyOf"} else [option]
        ):
            if item not in out:
                out.append(item)
    return out


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _groups(types: frozenset[str]) -> set[str]:
    return {"number" if t == "integer" else t for t in types}


def _meet(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    out = set(a & b)
    if ("number" in a and "integer" in b) or ("integer" in a and "number" in b):
        out.add("integer")
    return frozenset(out)


def _join(parts: list[frozenset[str]]) -> frozenset[str]:
    out: set[str] = set().union(*parts)
    if "number" in out:
        out.discard("integer")
    return frozenset(out)


def _type_list(types: frozenset[str]) -> str | list[str]:
    order = ("object", "array", "string", "integer", "number", "boolean", "null")
    listed = sorted(types, key=order.index)
    return listed[0] if len(listed) == 1 else listed


def _group_type(group: str, declared: frozenset[str]) -> str:
    return "integer" if group == "number" and "number" not in declared else group


def _is_whole(option: dict[str, Any], group: str, declared: frozenset[str]) -> bool:
    """Whether ``option`` takes every value of ``group`` the ``type`` list takes (nothing left to check)."""
    if set(option) != {"type"}:
        return False
    types = set(_as_list(option["type"]))
    if group == "number":
        return "number" in types or ("integer" in types and "number" not in declared)
    return group in types


def _mergeable(option: dict[str, Any], group: str, merged: dict[str, Any]) -> bool:
    keys = set(option) - {"type"}
    return bool(keys) and keys <= _ONLY_FOR[group] and not keys & set(merged)


def _only_values(option: dict[str, Any]) -> bool:
    """An option that is a fixed set of values (``const``, ``enum``, ``null``) with nothing else to check."""
    if "const" in option or "enum" in option:
        return set(option) <= {"const", "enum", "type"}
    return option == {"type": "null"}


def _values(option: dict[str, Any]) -> list[Any]:
    if "const" in option:
        return [option["const"]]
    if "enum" in option:
        return list(option["enum"])
    return [None] if option == {"type": "null"} else []


def _takes_every_string(node: dict[str, Any]) -> bool:
    if "enum" in node or "const" in node or "string" not in _as_list(node.get("type", [])):
        return False
    if any(key in node for key in _ONLY_FOR["string"]):
        return False
    return not any(clause["if"] == {"type": "string"} for clause in node.get("allOf", []))


def _hidden_choices(node: dict[str, Any], visible: bool = True) -> list[Any]:
    """The values of ``node`` under ``then``/``else``, out of a completer's sight: ``enum``/``const`` values,
    and ``true``/``false`` where the type is boolean (editors offer them from a visible ``type``)."""
    found = [] if visible else _values(node)
    if not visible and not found and "boolean" in _as_list(node.get("type", [])):
        found = [True, False]
    for key in ("anyOf", "allOf"):
        for part in node.get(key, []):
            if isinstance(part, dict):
                found.extend(_hidden_choices(part, visible))
    for key in ("then", "else"):
        if isinstance(node.get(key), dict):
            found.extend(_hidden_choices(node[key], visible=False))
    return found
