"""The stable rule ids `lumen-ext validate` reports.

A rule id never changes meaning once released: CI filters, SARIF baselines and editor settings key on it.
The table below documents ``RULES``; ``tests/validation/test_rules.py`` fails when the two disagree.

================================  ========  ==========================================================
rule                              severity  what it catches
================================  ========  ==========================================================
yaml-syntax                       error     the file is not well-formed YAML, or PyYAML cannot build it
yaml-alias-bomb                   error     aliases expand the document past 100,000 nodes ("billion laughs")
yaml-too-deep                     error     the document nests more than 64 levels deep
duplicate-key                     error     a mapping repeats a key (PyYAML silently keeps the last one)
unsafe-yaml-tag                   error     a ``!!python/...`` tag, which Lumen's ``yaml.Loader`` would execute
unknown-yaml-tag                  error     a local tag (``!foo``) no YAML constructor knows
jinja-syntax                      error     Jinja2 cannot parse or render the file (an unclosed ``{{``, ``env()`` with two arguments)
jinja-code-execution              error     ``{{ shell() }}`` or attribute/item access: code Lumen's unsandboxed Jinja runs at load
jinja-side-effect                 warning   ``{{ env() }}``, ``header()``, ``cookie()`` or ``oauth()``: values pasted into the YAML text
jinja-expression                  warning   a Jinja expression Lumen renders at load time and lumen-ext cannot evaluate
jinja-statement                   warning   a ``{% ... %}`` block; both branches are checked as written
unknown-key                       error     a key the component does not accept
unknown-type                      error     a ``type:`` no component of that family declares
missing-key                       error     a required key is absent
invalid-type                      error     a value of the wrong type (a mapping for a list, a string for a number)
invalid-value                     error     a value outside the allowed set or range
unknown-option                    warning   an option the plotting library behind a view does not know (ignored)
deprecated-key                    warning   a key Lumen still accepts but has deprecated
undefined-variable                error     ``$variables.x`` or ``${variables.x}`` names no declared variable
undefined-source                  error     a source name or ``$source`` reference that is not declared
undefined-pipeline                error     a pipeline name that is not declared
undefined-table                   error     a table the referenced source does not declare
undefined-view                    error     a layout grid, ``param`` filter or checks file names a view that does not exist
undefined-layout                  error     a checks file names a layout title the spec does not have
orphan-checks                     error     a checks file (``NAME.checks``) with no spec ``NAME.yaml`` beside it
invalid-reference                 error     a ``$`` string Lumen cannot resolve (``$5 deals``, more than three levels)
layout-index                      error     a layout grid index that is out of range, or an index into named views
source-and-pipeline               error     a layout declares both ``source`` and ``pipeline``
missing-source                    error     a pipeline, layout or view with neither ``source`` nor ``pipeline``
ambiguous-table                   error     no ``table`` given although the source declares several
unknown-column                    error     a filter, transform or view names a column the data does not have
missing-data-file                 error     a local data file that does not exist (a warning when nothing reads its table)
data-unchecked                    warning   data lumen-ext could not read (URL, missing driver, unreadable file)
duckdb-cwd                        warning   a DuckDB relative path that only resolves from the spec folder
missing-dependency                warning   a component needs an optional package that is not installed
lumen-runtime-bug                 error     valid Lumen syntax that crashes Lumen 1.4.0 at run time
crossfilter-field                 error     a view in a ``selection_group`` reads a table without a column another view brushes
crossfilter-brush                 error     a view names several brush tools, or none of its brushed axes has a column
lock-column-missing               error     a column the lock file lists is gone from the data (a warning when the spec does not use it)
lock-type-changed                 warning   a column's type in the data differs from the lock file's
lock-stale                        warning   the lock file is behind the spec or the data (new columns, changed content, tables)
lock-invalid                      error     the spec's lock file cannot be read (not JSON, another format)
internal-error                    error     lumen-ext itself failed on this file (a bug: please report it); exit 2
================================  ========  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lumen_ext.security.rules import SECURITY_RULES

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("yaml-syntax", "error", "the file is not well-formed YAML, or PyYAML cannot build it"),
        Rule("yaml-alias-bomb", "error", 'aliases expand the document past 100,000 nodes ("billion laughs")'),
        Rule("yaml-too-deep", "error", "the document nests more than 64 levels deep"),
        Rule("duplicate-key", "error", "a mapping repeats a key (PyYAML silently keeps the last one)"),
        Rule("unsafe-yaml-tag", "error", "a `!!python/...` tag, which Lumen's `yaml.Loader` would execute"),
        Rule("unknown-yaml-tag", "error", "a local tag (`!foo`) no YAML constructor knows"),
        Rule(
            "jinja-syntax",
            "error",
            "Jinja2 cannot parse or render the file (an unclosed `{{`, `env()` with two arguments)",
        ),
        Rule(
            "jinja-code-execution",
            "error",
            "`{{ shell() }}` or attribute/item access: code Lumen's unsandboxed Jinja runs at load",
        ),
        Rule(
            "jinja-side-effect",
            "warning",
            "`{{ env() }}`, `header()`, `cookie()` or `oauth()`: values pasted into the YAML text",
        ),
        Rule(
            "jinja-expression",
            "warning",
            "a Jinja expression Lumen renders at load time and lumen-ext cannot evaluate",
        ),
        Rule("jinja-statement", "warning", "a `{% ... %}` block; both branches are checked as written"),
        Rule("unknown-key", "error", "a key the component does not accept"),
        Rule("unknown-type", "error", "a `type:` no component of that family declares"),
        Rule("missing-key", "error", "a required key is absent"),
        Rule(
            "invalid-type", "error", "a value of the wrong type (a mapping for a list, a string for a number)"
        ),
        Rule("invalid-value", "error", "a value outside the allowed set or range"),
        Rule(
            "unknown-option",
            "warning",
            "an option the plotting library behind a view does not know (ignored)",
        ),
        Rule("deprecated-key", "warning", "a key Lumen still accepts but has deprecated"),
        Rule("undefined-variable", "error", "`$variables.x` or `${variables.x}` names no declared variable"),
        Rule("undefined-source", "error", "a source name or `$source` reference that is not declared"),
        Rule("undefined-pipeline", "error", "a pipeline name that is not declared"),
        Rule("undefined-table", "error", "a table the referenced source does not declare"),
        Rule(
            "undefined-view",
            "error",
            "a layout grid, `param` filter or checks file names a view that does not exist",
        ),
        Rule("undefined-layout", "error", "a checks file names a layout title the spec does not have"),
        Rule("orphan-checks", "error", "a checks file (`NAME.checks`) with no spec `NAME.yaml` beside it"),
        Rule(
            "invalid-reference",
            "error",
            "a `$` string Lumen cannot resolve (`$5 deals`, more than three levels)",
        ),
        Rule(
            "layout-index", "error", "a layout grid index that is out of range, or an index into named views"
        ),
        Rule("source-and-pipeline", "error", "a layout declares both `source` and `pipeline`"),
        Rule("missing-source", "error", "a pipeline, layout or view with neither `source` nor `pipeline`"),
        Rule("ambiguous-table", "error", "no `table` given although the source declares several"),
        Rule("unknown-column", "error", "a filter, transform or view names a column the data does not have"),
        Rule(
            "missing-data-file",
            "error",
            "a local data file that does not exist (a warning when nothing reads its table)",
        ),
        Rule(
            "data-unchecked",
            "warning",
            "data lumen-ext could not read (URL, missing driver, unreadable file)",
        ),
        Rule("duckdb-cwd", "warning", "a DuckDB relative path that only resolves from the spec folder"),
        Rule("missing-dependency", "warning", "a component needs an optional package that is not installed"),
        Rule("lumen-runtime-bug", "error", "valid Lumen syntax that crashes Lumen 1.4.0 at run time"),
        Rule(
            "crossfilter-field",
            "error",
            "a view in a `selection_group` reads a table without a column another view brushes",
        ),
        Rule(
            "crossfilter-brush",
            "error",
            "a view names several brush tools, or none of its brushed axes has a column",
        ),
        Rule(
            "lock-column-missing",
            "error",
            "a column the lock file lists is gone from the data (a warning when the spec does not use it)",
        ),
        Rule("lock-type-changed", "warning", "a column's type in the data differs from the lock file's"),
        Rule(
            "lock-stale",
            "warning",
            "the lock file is behind the spec or the data (new columns, changed content, tables)",
        ),
        Rule("lock-invalid", "error", "the spec's lock file cannot be read (not JSON, another format)"),
        Rule(
            "internal-error",
            "error",
            "lumen-ext itself failed on this file (a bug: please report it); exit 2",
        ),
    )
}


# The core rules above are documented in this module's table; the security lint's rules in
# `lumen_ext.security.rules`. One dict serves the reporters and `--list-rules`.
CORE_RULES = dict(RULES)
RULES.update((r.id, Rule(r.id, r.severity, r.summary)) for r in SECURITY_RULES.values())


def rule(rule_id: str) -> Rule:
    """The rule with this id; unknown ids are a programming error, so fail loudly."""
    return RULES[rule_id]
