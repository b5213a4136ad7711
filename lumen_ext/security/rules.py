"""The rule ids of lumen-ext's security lint (``lumen_ext.validation.security``), one per family of vectors.

Severities are the defaults; a finding may be downgraded to a warning when ``lumen-ext serve`` contains the
construct at run time but plain ``lumen serve`` does not (the message says so). The validator merges this table
into its own (``lumen_ext.validation.rules.RULES``), so ``lumen-ext validate --list-rules`` shows it.

========================  ========  =====================================================================  ==========
rule                      severity  what it catches                                                        vectors
========================  ========  =====================================================================  ==========
unsafe-import             error     a dotted ``type:``/``kind:``/template outside the allowed modules;      S7 S8 S9
                                    ``filters.py``/``views.py``/... beside the spec, which Lumen executes
unsafe-callback           error     a ``config.on_*`` callback outside the allowed modules                 S8
path-outside-project      warning   a file, URL or DuckDB path outside the project root and allowed dirs   S5 S6
unsafe-sql                warning   DuckDB ``initializers`` or table SQL that installs, attaches or writes  S6
viewer-code               error     a ``query``/``eval`` expression a viewer can change                    S10
viewer-sql                error     SQL text or ``sql_format`` parameters a viewer can change               S11
viewer-path               warning   a file path or URL a viewer can change                                 S5 S13
insecure-secret           warning   an ``env`` variable not marked ``secure: true``                        S4
secret-displayed          error     a ``secure: true`` variable (``$variables.x``, Jinja ``env()``) in text  S4
                                    the browser receives: titles, filters, widgets, config
auth-fail-open            warning   an ``auth:`` claim that plain Lumen skips when the provider omits it   S15
editable                  error     ``config.editable: true``: every viewer may edit and reload the spec   S12
unsafe-cache-dir          error     a ``cache_dir`` Lumen would ``rmtree`` outside the project or on it    S14
========================  ========  =====================================================================  ==========

The loader-level vectors (``!!python`` tags, S1; Jinja ``shell()``/attribute access/``cookie()``, S2 S3 S16) are
reported by the validator's loader as ``unsafe-yaml-tag``, ``jinja-code-execution`` (``shell()``, attribute
access) and ``jinja-side-effect`` (``env()``, ``cookie()``, ...), where the text positions are.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SECURITY_RULES", "SecurityRule"]


class SecurityRule(NamedTuple):
    id: str
    severity: str  # "error" | "warning"
    summary: str
    vectors: tuple[str, ...]


SECURITY_RULES: dict[str, SecurityRule] = {
    r.id: r
    for r in (
        SecurityRule(
            "unsafe-import",
            "error",
            "a dotted `type:`, widget `kind:` or template outside the allowed modules, or a local module "
            "(`views.py`, ...) Lumen would execute",
            ("S7", "S8", "S9"),
        ),
        SecurityRule(
            "unsafe-callback", "error", "a `config.on_*` callback outside the allowed modules", ("S8",)
        ),
        SecurityRule(
            "path-outside-project",
            "warning",
            "a file, URL or DuckDB path outside the project root and the allowed directories",
            ("S5", "S6"),
        ),
        SecurityRule(
            "unsafe-sql",
            "warning",
            "DuckDB `initializers`, or table SQL that installs, attaches, copies or changes settings",
            ("S6",),
        ),
        SecurityRule(
            "viewer-code", "error", "a `query`/`eval` expression a dashboard viewer can change", ("S10",)
        ),
        SecurityRule(
            "viewer-sql",
            "error",
            "SQL text or `sql_format` parameters a dashboard viewer can change",
            ("S11",),
        ),
        SecurityRule(
            "viewer-path", "warning", "a file path or URL a dashboard viewer can change", ("S5", "S13")
        ),
        SecurityRule("insecure-secret", "warning", "an `env` variable not marked `secure: true`", ("S4",)),
        SecurityRule(
            "secret-displayed",
            "error",
            "a `secure: true` variable referenced (`$variables.x`, Jinja `env()`) in text sent to the browser: "
            "a title, a filter, a widget, the config",
            ("S4",),
        ),
        SecurityRule(
            "auth-fail-open",
            "warning",
            "an `auth:` claim plain Lumen skips (authorising everyone) when the provider does not send it",
            ("S15",),
        ),
        SecurityRule(
            "editable",
            "error",
            "`config.editable: true` lets every viewer edit and reload the spec",
            ("S12",),
        ),
        SecurityRule(
            "unsafe-cache-dir",
            "error",
            "a `cache_dir` outside the project, or one whose deletion on reload would remove the project",
            ("S14",),
        ),
    )
}
