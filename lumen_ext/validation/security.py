"""Find every unsafe construct in a loaded spec, statically, as `SchemaIssue`s the validator positions and reports.

``unsafe_constructs(data, spec_path, policy)`` walks the plain (safely loaded) spec data. It never imports Panel or
Lumen, never reads data files and never follows URLs: it only looks at the spec, at which files sit beside it, and
at the operator's policy. Rule ids and severities are in `lumen_ext.security.rules`.

The checks of sources are in :mod:`~lumen_ext.validation.source_security`, the state and variable lookups every
check shares in :mod:`~lumen_ext.validation.security_lint_base`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen_ext.security.expressions import expression_problem
from lumen_ext.security.imports import LOCAL_MODULES, is_dotted_path, reference_problem
from lumen_ext.security.policy import Policy
from lumen_ext.spec import SchemaIssue
from lumen_ext.validation.security_lint_base import (
    VIEWER_VARIABLE_TYPES,
    Path_,
    security_issue,
    text_or_none,
)
from lumen_ext.validation.source_security import SourceChecks

__all__ = ["LOCAL_MODULES", "VIEWER_VARIABLE_TYPES", "LocatedIssue", "check_file", "unsafe_constructs"]


# Files `lumen.config.load_local_modules` executes from the spec's folder (config.py:197-213).
_CALLBACKS = ("on_session_created", "on_session_destroyed", "on_loaded", "on_error", "on_update")
# SQL transform parameters that are SQL text or substituted into it.
_SQL_TEXT_KEYS = ("sql_expr", "parameters", "conditions", "tables")
# Claims OpenID Connect and the OAuth providers Panel supports send (Panel's `pn.state.user_info`).
_KNOWN_CLAIMS = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "nickname",
    "sub",
    "groups",
    "roles",
    "login",
    "user",
    "username",
    "hd",
    "oid",
    "tid",
    "upn",
    "org",
    "organization",
    "team",
    "teams",
    "company",
    "id",
)


class _Linter(SourceChecks):
    # -- the walk ----------------------------------------------------------------------------------------------

    def run(self) -> list[SchemaIssue]:
        self.local_modules()
        self.config()
        self.auth()
        for name, spec in self.variables.items():
            if isinstance(spec, dict):
                self.variable_spec(("variables", name), spec)
        sources = self.data.get("sources")
        if isinstance(sources, dict):
            for name, spec in sources.items():
                if isinstance(spec, dict):
                    self.source(("sources", name), spec)
        for path, node in _dicts(self.data, ()):
            self.dotted_types(path, node)
            self.transform(path, node)
        return self.issues

    def local_modules(self) -> None:
        if self.policy.allow_local_modules:
            return
        for name in LOCAL_MODULES:
            if (self.spec_dir / name).is_file():
                self.add(
                    (),
                    "unsafe-import",
                    f"`{name}` beside this spec is executed by Lumen every time the dashboard loads; "
                    "lumen-ext serve refuses to run it",
                    "package the components and register them under the `lumen_ext.components` entry point, "
                    "or set `allow_local_modules = true` in the server's policy",
                )

    def config(self) -> None:
        config = self.data.get("config")
        if not isinstance(config, dict):
            return
        if config.get("editable") is True and not self.policy.allow_editable:
            self.add(
                ("config", "editable"),
                "editable",
                "`editable: true` gives every viewer a YAML editor whose text the server loads and runs "
                "(Lumen disables only env/shell/oauth there)",
                "remove it; the operator can allow it with `allow_editable = true` for trusted viewers",
            )
        for key in _CALLBACKS:
            value = config.get(key)
            if isinstance(value, str) and (problem := reference_problem(value, self.policy, callback=True)):
                self.add(
                    ("config", key),
                    "unsafe-callback",
                    f"`{key}`: {problem}",
                    "callbacks run in the server process with its privileges",
                )
        template = config.get("template")
        if isinstance(template, dict):
            template = template.get("type")
        if is_dotted_path(template) and (problem := reference_problem(template, self.policy)):
            path = (
                ("config", "template", "type")
                if isinstance(config.get("template"), dict)
                else ("config", "template")
            )
            self.add(path, "unsafe-import", f"template: {problem}")

    def auth(self) -> None:
        auth = self.data.get("auth")
        if not isinstance(auth, dict):
            return
        for key in auth:
            if key in ("case_sensitive", "plugins") or key in _KNOWN_CLAIMS:
                continue
            close = difflib.get_close_matches(str(key), _KNOWN_CLAIMS, n=1, cutoff=0.7)
            self.add(
                ("auth", key),
                "auth-fail-open",
                f"auth claim `{key}` is not one OAuth providers usually send; plain Lumen authorises every user "
                "whose claims lack it, lumen-ext serve denies them",
                f"did you mean `{close[0]}`?"
                if close
                else "check the claim name against your provider's user info",
                target="key",
            )

    def variable_spec(self, path: Path_, spec: dict) -> None:
        vtype = spec.get("type")
        if vtype == "env" and spec.get("secure") is not True:
            self.add(
                (*path, "type"),
                "insecure-secret",
                f"environment variable `{spec.get('key', path[-1])}` is not marked `secure: true`: "
                "Lumen includes its value in exported specs",
                "add `secure: true` (lumen-ext then keeps the value out of exports and error pages)",
            )
        kind = spec.get("kind")
        if vtype == "widget" and is_dotted_path(kind) and (problem := reference_problem(kind, self.policy)):
            self.add((*path, "kind"), "unsafe-import", f"widget kind: {problem}")

    # -- anywhere in the spec ----------------------------------------------------------------------------------

    def dotted_types(self, path: Path_, node: dict) -> None:
        if "catalog" in path:  # intake's catalog: its own schema, never resolved by Lumen
            return
        for key in ("type", "widget"):
            value = node.get(key)
            if key == "widget" and path[:1] == ("variables",):
                continue
            if is_dotted_path(value) and (problem := reference_problem(value, self.policy)):
                self.add(
                    (*path, key),
                    "unsafe-import",
                    problem,
                    "Lumen imports the module and instantiates the class with the spec's arguments",
                )
        operation = node.get("operation")
        fn = operation.get("fn") if isinstance(operation, dict) else None
        if is_dotted_path(fn) and (problem := reference_problem(fn, self.policy)):
            self.add((*path, "operation", "fn"), "unsafe-import", problem)

    def transform(self, path: Path_, node: dict) -> None:
        ttype = node.get("type")
        controls = node.get("controls") if isinstance(node.get("controls"), list) else []
        control_names = {
            text_or_none(c if isinstance(c, str) else c.get("name"))
            for c in controls
            if isinstance(c, (str, dict))
        }
        if ttype in ("query", "eval"):
            key = "query" if ttype == "query" else "expr"
            expr = node.get(key)
            if key in control_names:
                self.add(
                    (*path, "controls"),
                    "viewer-code",
                    f"`controls` exposes the `{key}` expression as a text box: a viewer can type pandas code "
                    "that reads files or runs commands on the server under plain Lumen",
                    "expose the values as `widget` filters instead",
                )
            if viewer := self.viewer_variables(expr):
                self.add(
                    (*path, key),
                    "viewer-code",
                    f"the `{ttype}` expression uses {self.describe(viewer)}, which a viewer controls; "
                    "pandas evaluates `@name` and method calls in it",
                    "filter with a `widget` or `constant` filter bound to the variable instead",
                )
            elif (
                isinstance(expr, str)
                and "$" not in expr
                and "{{" not in expr
                and (problem := expression_problem(expr, assignments=ttype == "eval"))
            ):
                self.add(
                    (*path, key),
                    "viewer-code",
                    f"lumen-ext serve refuses this `{ttype}` expression: {problem}",
                    "use column names, literals, comparisons and column methods only",
                )
        elif isinstance(ttype, str) and ttype.startswith("sql"):
            for key in _SQL_TEXT_KEYS:
                if key in control_names:
                    self.add(
                        (*path, "controls"),
                        "viewer-sql",
                        f"`controls` exposes `{key}` of this SQL transform to viewers, who can then write SQL",
                    )
                if key in node and (viewer := self.viewer_variables(node[key])):
                    self.add(
                        (*path, key),
                        "viewer-sql",
                        f"`{key}` uses {self.describe(viewer)}, which a viewer controls; plain Lumen "
                        "pastes string values into the SQL unquoted",
                        "filter with a `widget` filter, which Lumen turns into quoted SQL literals",
                    )


def _lint_context(path: Path_) -> tuple:
    """What of a mapping's path the checks run on every mapping (``dotted_types``, ``transform``) look at: the
    top-level section and whether it sits in an intake catalog."""
    return path[:1], "catalog" in path


def _dicts(node: Any, path: Path_) -> Iterator[tuple[Path_, dict]]:
    """Every mapping at or below ``node`` with its path, parents first, in document order.

    With an explicit stack: a recursive generator hands each mapping up through every enclosing generator, so
    30,000 mappings 95 levels down cost 3 million steps (the validator's fuzzer found it). Data PyYAML built
    from a recursive alias (``a: &a [*a]``) contains itself: that raises RecursionError, as the recursion did,
    which `unsafe_constructs` reports.

    A node reached again through another alias (``*a`` where ``&a`` was walked) is walked again only in another
    context the lint's checks tell apart (:func:`_lint_context`): walking every path of a few nested aliases is
    exponential (nine levels of ``[*a, *a, ...]`` are 10^9 paths to one list; the security fuzzer found it), while
    an alias that moves a node from a context the checks skip (``variables``, an intake ``catalog``) into one they
    check is still checked there."""
    ancestors: set[int] = set()
    walked: set[tuple[int, tuple]] = set()
    stack: list[tuple[Path_, Any, bool]] = [(path, node, False)]
    while stack:
        path, node, leaving = stack.pop()
        if leaving:
            ancestors.discard(id(node))
            continue
        if id(node) in ancestors:
            raise RecursionError("the data contains itself")
        seen = (id(node), _lint_context(path))
        if seen in walked:
            continue
        walked.add(seen)
        if isinstance(node, dict):
            yield path, node
            children = [((*path, k), v) for k, v in node.items() if isinstance(v, dict | list)]
        elif isinstance(node, list):
            children = [((*path, i), v) for i, v in enumerate(node) if isinstance(v, dict | list)]
        else:
            continue
        ancestors.add(id(node))
        stack.append((path, node, True))
        stack.extend((p, v, False) for p, v in reversed(children))


def unsafe_constructs(data: Any, spec_path: Path, policy: Policy | None = None) -> list[SchemaIssue]:
    """Every unsafe construct in ``data`` (the spec at ``spec_path``, loaded safely), in walk order. Never raises."""
    if not isinstance(data, dict):
        return []
    try:
        return _Linter(data, Path(spec_path), policy or Policy()).run()
    except RecursionError:
        return [
            security_issue(
                (),
                "unsafe-import",
                "the spec is nested too deeply to check for unsafe constructs",
                severity="warning",
            )
        ]


@dataclass(frozen=True)
class LocatedIssue:
    """A finding with the file position the validator's loader gives its path (1-based line and column)."""

    file: str
    line: int
    column: int
    issue: SchemaIssue

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.issue.severity} [{self.issue.rule}] {self.issue.message}"


def check_file(path: str | Path, policy: Policy | None = None) -> list[LocatedIssue]:
    """`unsafe_constructs` and `displayed_secrets` for the spec file at ``path``, positioned (safe load: nothing in
    the file runs)."""
    from lumen_ext.validation.loader import load_text
    from lumen_ext.validation.secret_security import displayed_secrets

    path = Path(path)
    loaded = load_text(path.read_text(encoding="utf-8-sig"))
    located = []
    for issue in unsafe_constructs(loaded.data, path, policy):
        span = loaded.locate(issue.path, issue.target)
        located.append(LocatedIssue(str(path), span.line, span.column, issue))
    for shown in displayed_secrets(loaded):
        located.append(LocatedIssue(str(path), shown.span.line, shown.span.column, shown.issue))
    return located
