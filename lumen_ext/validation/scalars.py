"""Build a scalar's Python value with PyYAML's own constructors, turning every way they fail into a message.

PyYAML's constructors trust the resolver: `!!float abc` raises ValueError, `!!bool maybe` KeyError,
`!!timestamp 2020-13-45` ValueError (month 13), a plain `2024-02-30` too (YAML 1.1 reads it as a date), and a
plain 5,000-digit number ValueError (Python's limit on converting text to int). Lumen's loader fails on every one
of them, so each is a diagnostic at the scalar, never a traceback.
"""

from __future__ import annotations

from typing import Any

from yaml.constructor import SafeConstructor
from yaml.error import YAMLError
from yaml.nodes import ScalarNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_PREFIX = "tag:yaml.org,2002:"
_CONSTRUCTORS = SafeConstructor.yaml_constructors
# The standard tags whose constructor takes a scalar (the others, `!!seq`, `!!map`, `!!set`, `!!omap` and
# `!!pairs`, need a collection).
SCALAR_TAGS = frozenset(_PREFIX + t for t in ("null", "bool", "int", "float", "binary", "timestamp", "str"))
# What each standard scalar tag expects, for the message.
_EXPECTED = {
    "bool": "a boolean (true/false, yes/no, on/off)",
    "int": "an integer",
    "float": "a number",
    "timestamp": "a date or timestamp",
    "binary": "base64 data",
    "null": "null",
}


class ScalarProblem(Exception):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


class ScalarBuilder:
    """One SafeConstructor, used only for its scalar constructors (no object graph, no recursion)."""

    def __init__(self) -> None:
        self._constructor = SafeConstructor()

    def build(self, node: ScalarNode, explicit: bool) -> Any:
        """The value PyYAML builds for ``node``; ``explicit`` when its tag is written in the text."""
        tag, value = node.tag, node.value
        if tag == _STR:
            return value  # the common case, and what construct_yaml_str returns
        if tag not in SCALAR_TAGS:
            short = tag.removeprefix(_PREFIX)
            raise ScalarProblem(
                f"`!!{short}` needs a collection, not the scalar `{_shorten(value)}`; PyYAML cannot build "
                "it, so Lumen fails to load the file",
                f"remove the `!!{short}` tag",
            )
        try:
            if tag == _INT and value.isascii() and value.isdigit() and value[0] != "0":
                return int(value)  # what construct_yaml_int does with plain decimals, minus its parsing steps
            return _CONSTRUCTORS[tag](self._constructor, node)
        except Exception as exc:  # ValueError, KeyError, AttributeError...: see the module docstring
            raise _problem(node, explicit, exc) from exc


def _problem(node: ScalarNode, explicit: bool, exc: Exception) -> ScalarProblem:
    short = node.tag.removeprefix(_PREFIX)
    value = _shorten(node.value)
    expected = _EXPECTED.get(short, f"a `!!{short}` value")
    reason = _reason(exc)
    because = f" ({reason})" if reason else ""
    if explicit:
        return ScalarProblem(
            f"`!!{short} {value}`: `{value}` is not {expected}{because}; PyYAML cannot build it, so Lumen fails "
            "to load the file",
            f"fix the value or remove the `!!{short}` tag",
        )
    return ScalarProblem(
        f"`{value}` reads as {expected} in YAML 1.1 but is not a valid one{because}; PyYAML cannot build it, "
        "so Lumen fails to load the file",
        f"quote it ('{value}') to keep it a string",
    )


def _shorten(value: str) -> str:
    """The value as it can sit inside a one-line message."""
    value = value if len(value) <= 40 else value[:37] + "..."
    return value.translate({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def _reason(exc: Exception) -> str:
    """The part of the exception worth showing: datetime's and int's own words, a constructor's problem."""
    if isinstance(exc, YAMLError):
        return ""  # `!!binary`: "failed to decode base64 data: ..." says no more than the message does
    if isinstance(exc, ValueError) and ("must be in" in str(exc) or "out of range" in str(exc)):
        return str(exc)  # datetime: "month must be in 1..12", "day is out of range for month"
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return "more digits than Python converts from text"
    return ""
