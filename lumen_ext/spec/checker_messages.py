"""The wording of the schema checker's messages (:mod:`lumen_ext.spec._checker`): what a value is, what a key
expects, the "did you mean" hint, and the bounds of a number."""

from __future__ import annotations

import difflib
from typing import Any

__all__ = ["bounds_problem", "describe_expected", "kind_name", "suggest", "valid_keys_hint"]


def suggest(word: Any, candidates: list[str]) -> str | None:
    if not isinstance(word, str) or not candidates:
        return None
    matches = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


_EXPECT = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "a boolean (true/false)",
    "date": "a date",
    "list": "a list",
    "tuple": "a list",
    "dict": "a mapping",
    "callable": "a dotted path to a callable",
    "component": "a mapping",
    "components": "a list",
    "defaults": "a list",
    "template": "a template name or mapping",
    "download": "a format name or mapping",
    "grid": "a layout name, mapping or nested list",
    "ref_or_spec": "a name or mapping",
    "filters": "a list, mapping or 'auto'",
}


def describe_expected(desc: dict[str, Any]) -> str:
    t = desc["t"]
    if t == "union":
        return " or ".join(dict.fromkeys(describe_expected(d) for d in desc["of"]))
    if t == "enum":
        return "one of " + ", ".join(repr(v) for v in desc["values"])
    if t == "components":
        return {"dict": "a mapping", "list": "a list", "list_or_dict": "a list or mapping"}[desc["shape"]]
    return _EXPECT.get(t, "a value")


def bounds_problem(value: float, desc: dict[str, Any], label: str) -> tuple[str, str, str | None] | None:
    lo, hi = desc.get("min"), desc.get("max")
    xlo, xhi = desc.get("xmin"), desc.get("xmax")
    if lo is not None and value < lo:
        return ("invalid-value", f"{label} must be at least {lo}, got {value!r}", None)
    if hi is not None and value > hi:
        return ("invalid-value", f"{label} must be at most {hi}, got {value!r}", None)
    if xlo is not None and value <= xlo:
        return ("invalid-value", f"{label} must be greater than {xlo}, got {value!r}", None)
    if xhi is not None and value >= xhi:
        return ("invalid-value", f"{label} must be less than {xhi}, got {value!r}", None)
    return None


def valid_keys_hint(fields: dict[str, Any]) -> str:
    names = [k for k, d in fields.items() if "deprecated" not in d and not d.get("legacy")]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"valid keys: {shown}"
