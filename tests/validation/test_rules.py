"""Rule ids are stable and documented in one table."""

from __future__ import annotations

import re
from pathlib import Path

import lumen_ext.spec
from lumen_ext.validation import RULES, rules

SOURCE = Path(rules.__file__).parent


def test_docstring_table_matches_rules() -> None:
    lines = (rules.__doc__ or "").splitlines()
    borders = [i for i, line in enumerate(lines) if line.startswith("====")]
    table = [line.split(None, 2) for line in lines[borders[1] + 1 : borders[2]]]
    assert [(rid, sev, summary.replace("``", "`")) for rid, sev, summary in table] == [
        (r.id, r.severity, r.summary) for r in rules.CORE_RULES.values()
    ]


def test_security_rules_are_merged_without_clashing() -> None:
    from lumen_ext.security.rules import SECURITY_RULES

    assert not set(SECURITY_RULES) & set(rules.CORE_RULES)
    assert set(RULES) == set(rules.CORE_RULES) | set(SECURITY_RULES)


def test_schema_rules_are_all_known() -> None:
    assert set(lumen_ext.spec.RULES) <= set(RULES)


def test_every_rule_id_used_in_the_code_is_declared() -> None:
    """Every kebab-case string literal in the package is a declared rule, a package name or a CSS class."""
    literals: set[str] = set()
    for path in SOURCE.rglob("*.py"):  # the lock subpackage too
        literals.update(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', path.read_text()))
    from lumen_ext.validation.dependencies import _INTAKE_DRIVERS, _TYPE_NEEDS

    packages = {pip for needs in _TYPE_NEEDS.values() for _, pip in needs.values()}
    packages |= {pip for _, pip in _INTAKE_DRIVERS.values()}
    assert literals - set(RULES) - packages <= {"lumen-ext", "lumen-ext-diagnostics"}


def test_rule_ids_are_kebab_case() -> None:
    assert all(re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", r) for r in RULES)
