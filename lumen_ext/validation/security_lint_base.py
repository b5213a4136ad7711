"""What every check of the security lint (:mod:`lumen_ext.validation.security`) works with: the spec, the
operator's policy, the issues found so far, and which variables a viewer controls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lumen_ext.security.policy import Policy
from lumen_ext.security.rules import SECURITY_RULES
from lumen_ext.spec import SchemaIssue

__all__ = ["VIEWER_VARIABLE_TYPES", "Path_", "SpecLinter", "security_issue", "strings_in", "text_or_none"]

# A place in the spec: keys and list positions from the top.
Path_ = tuple[str | int, ...]

# Variable types whose value a dashboard viewer (or their browser) controls.
VIEWER_VARIABLE_TYPES = frozenset({"url", "widget", "cookie", "header", "user"})
_VARIABLE_USE = re.compile(r"\$\{?variables\.([A-Za-z_]\w*)")


def security_issue(
    path: Path_,
    rule: str,
    message: str,
    hint: str | None = None,
    *,
    severity: str | None = None,
    target: str = "value",
) -> SchemaIssue:
    return SchemaIssue(path, rule, message, hint, severity or SECURITY_RULES[rule].severity, target)


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a string, else None: spec values compared with sets may be any YAML node."""
    return value if isinstance(value, str) else None


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


class SpecLinter:
    """The state of one run of the lint, and the variable lookups its checks share."""

    def __init__(self, data: dict, spec_path: Path, policy: Policy):
        self.data = data
        self.spec_path = spec_path
        self.spec_dir = spec_path.resolve().parent
        self.policy = policy
        self.roots = policy.roots(self.spec_dir)
        self.issues: list[SchemaIssue] = []
        self.variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.issues.append(security_issue(*args, **kwargs))

    # -- variables ---------------------------------------------------------------------------------------------

    def variable(self, name: str) -> dict:
        spec = self.variables.get(name)
        return spec if isinstance(spec, dict) else {"type": "constant", "value": spec}

    def viewer_variables(self, value: Any) -> list[str]:
        """The viewer-controlled variables ``value`` (any nesting) refers to, in order of appearance."""
        found: list[str] = []
        for text in strings_in(value):
            for name in _VARIABLE_USE.findall(text):
                if (
                    text_or_none(self.variable(name).get("type")) in VIEWER_VARIABLE_TYPES
                    and name not in found
                ):
                    found.append(name)
        return found

    def constant_value(self, value: Any) -> Any:
        """``$variables.x`` of a constant variable → its value (Lumen resolves it before the source sees it)."""
        if isinstance(value, str) and (m := re.fullmatch(r"\$variables\.([A-Za-z_]\w*)", value)):
            spec = self.variable(m.group(1))
            if spec.get("type", "constant") == "constant":
                return spec.get("value", spec.get("default"))
        return value

    def describe(self, names: list[str]) -> str:
        return ", ".join(f"`{n}` ({self.variable(n).get('type')} variable)" for n in names)
