"""Find every unsafe construct in a loaded spec, statically, as `SchemaIssue`s the validator positions and reports.

``unsafe_constructs(data, spec_path, policy)`` walks the plain (safely loaded) spec data. It never imports Panel or
Lumen, never reads data files and never follows URLs: it only looks at the spec, at which files sit beside it, and
at the operator's policy. Rule ids and severities are in `lumen_ext.security.rules`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumen_ext.security.expressions import expression_problem
from lumen_ext.security.imports import LOCAL_MODULES, is_dotted_path, reference_problem
from lumen_ext.security.paths import is_inside, resolve_under, url_scheme
from lumen_ext.security.policy import Policy
from lumen_ext.security.rules import SECURITY_RULES
from lumen_ext.spec import SchemaIssue
from lumen_ext.validation.model import FILE_SOURCES

__all__ = ["LOCAL_MODULES", "VIEWER_VARIABLE_TYPES", "LocatedIssue", "check_file", "unsafe_constructs"]

Path_ = tuple[str | int, ...]

# Variable types whose value a dashboard viewer (or their browser) controls.
VIEWER_VARIABLE_TYPES = frozenset({"url", "widget", "cookie", "header", "user"})
# Files `lumen.config.load_local_modules` executes from the spec's folder (config.py:197-213).
_CALLBACKS = ("on_session_created", "on_session_destroyed", "on_loaded", "on_error", "on_update")
_VARIABLE_USE = re.compile(r"\$\{?variables\.([A-Za-z_]\w*)")
_DUCKDB_FILE = re.compile(r"\.(csv|tsv|parquet|parq|json|jsonl|ndjson)$", re.IGNORECASE)
_SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
_SQL_SIDE_EFFECT = re.compile(
    r"^\s*(INSTALL|FORCE\s+INSTALL|LOAD|ATTACH|DETACH|COPY|EXPORT|IMPORT|PRAGMA|CALL|CREATE\s+SECRET)\b",
    re.IGNORECASE | re.MULTILINE,
)
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


def _issue(
    path: Path_,
    rule: str,
    message: str,
    hint: str | None = None,
    *,
    severity: str | None = None,
    target: str = "value",
) -> SchemaIssue:
    return SchemaIssue(path, rule, message, hint, severity or SECURITY_RULES[rule].severity, target)


class _Linter:
    def __init__(self, data: dict, spec_path: Path, policy: Policy):
        self.data = data
        self.spec_path = spec_path
        self.spec_dir = spec_path.resolve().parent
        self.policy = policy
        self.roots = policy.roots(self.spec_dir)
        self.issues: list[SchemaIssue] = []
        self.variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.issues.append(_issue(*args, **kwargs))

    # -- variables ---------------------------------------------------------------------------------------------

    def variable(self, name: str) -> dict:
        spec = self.variables.get(name)
        return spec if isinstance(spec, dict) else {"type": "constant", "value": spec}

    def viewer_variables(self, value: Any) -> list[str]:
        """The viewer-controlled variables ``value`` (any nesting) refers to, in order of appearance."""
        found: list[str] = []
        for text in _strings(value):
            for name in _VARIABLE_USE.findall(text):
                if _text(self.variable(name).get("type")) in VIEWER_VARIABLE_TYPES and name not in found:
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

    # -- sources -----------------------------------------------------------------------------------------------

    def source(self, path: Path_, spec: dict) -> None:
        stype = spec.get("type")
        cache_dir = spec.get("cache_dir")
        if isinstance(cache_dir, str) and cache_dir:
            self.cache_dir((*path, "cache_dir"), cache_dir)
        if _text(stype) in FILE_SOURCES:
            self.file_tables(path, spec)
        elif stype == "duckdb":
            self.duckdb(path, spec)

    def cache_dir(self, path: Path_, value: str) -> None:
        resolved = resolve_under(value, self.spec_dir)
        if not is_inside(resolved, self.roots):
            self.add(
                path,
                "unsafe-cache-dir",
                f"cache_dir `{value}` resolves to {resolved}, outside the project; Lumen deletes the whole "
                "directory (shutil.rmtree) when a viewer reloads",
                "use a folder inside the spec's folder, e.g. `cache_dir: cache`",
            )
        elif not is_inside(resolved, self.roots, strictly=True) or self.spec_dir.is_relative_to(resolved):
            self.add(
                path,
                "unsafe-cache-dir",
                f"cache_dir `{value}` is the project folder itself; Lumen deletes the whole directory "
                "(shutil.rmtree) when a viewer reloads, spec and data included",
                "use a dedicated subfolder, e.g. `cache_dir: cache`",
            )

    def file_tables(self, path: Path_, spec: dict) -> None:
        tables = spec.get("tables")
        tables_path = (*path, "tables")
        if viewer := self.viewer_variables(tables):
            self.add(
                tables_path,
                "viewer-path",
                f"the tables of this source come from {self.describe(viewer)}: a viewer chooses which file or "
                "URL the server reads; lumen-ext serve confines it to the project, plain Lumen does not",
                "offer the choices as a `widget` filter or a constant",
            )
        tables = self.constant_value(tables)
        for entry_path, location in _table_locations(tables, tables_path):
            location = self.constant_value(location)
            # Templates (`${...}`) and references are filled in at run time; the runtime guard checks the result.
            if isinstance(location, str) and "$" not in location:
                self.location(entry_path, location)

    def location(self, path: Path_, location: str, *, duckdb: bool = False) -> None:
        scheme = url_scheme(location)
        if scheme == "file":
            self.add(
                path,
                "path-outside-project",
                f"`{location}` is a file:// URL, which lumen-ext serve refuses",
                "write a path relative to the spec's folder",
                severity="error",
            )
        elif scheme is not None:
            if duckdb and not self.policy.duckdb_external_access:
                self.add(
                    path,
                    "path-outside-project",
                    f"DuckDB reads `{location}` over the network; lumen-ext serve runs DuckDB without external "
                    "access unless the policy sets `duckdb_external_access = true`",
                )
            elif not duckdb and scheme not in self.policy.allowed_url_schemes:
                self.add(
                    path,
                    "path-outside-project",
                    f"`{scheme}://` URLs are not in the server's allowed_url_schemes "
                    f"({', '.join(self.policy.allowed_url_schemes)})",
                    "the operator can add the scheme to `allowed_url_schemes`",
                    severity="error",
                )
        elif "{{" not in location:
            resolved = resolve_under(location, self.spec_dir)
            if not is_inside(resolved, self.roots):
                self.add(
                    path,
                    "path-outside-project",
                    f"`{location}` resolves to {resolved}, outside the project folder {self.roots[0]}; "
                    "lumen-ext serve refuses it unless the directory is in the policy's `allowed_dirs`",
                    "move the data beside the spec, or have the operator allow its directory",
                )

    def duckdb(self, path: Path_, spec: dict) -> None:
        uri = spec.get("uri")
        if (
            isinstance(uri, str)
            and uri not in ("", ":memory:")
            and not uri.startswith(("md:", "motherduck:"))
        ):
            self.location((*path, "uri"), uri, duckdb=True)
        initializers = spec.get("initializers")
        for i, sql in enumerate(initializers if isinstance(initializers, list) else []):
            if isinstance(sql, str):
                self.duckdb_sql((*path, "initializers", i), sql)
        tables = spec.get("tables")
        if viewer := self.viewer_variables(tables):
            self.add(
                (*path, "tables"),
                "viewer-sql",
                f"the SQL of this source uses {self.describe(viewer)}, which a viewer controls",
                "filter with a `widget` filter, which Lumen turns into quoted SQL literals",
            )
        if isinstance(tables, dict):
            for name, expr in tables.items():
                if isinstance(expr, str):
                    self.duckdb_sql((*path, "tables", name), expr)
        for key in ("sql_expr",):
            if isinstance(spec.get(key), str) and (viewer := self.viewer_variables(spec[key])):
                self.add(
                    (*path, key),
                    "viewer-sql",
                    f"`{key}` uses {self.describe(viewer)}, which a viewer controls",
                )

    def duckdb_sql(self, path: Path_, expr: str) -> None:
        if _DUCKDB_FILE.search(expr.strip()) and "(" not in expr and " " not in expr.strip():
            self.location(path, expr.strip(), duckdb=True)
            return
        if m := _SQL_SIDE_EFFECT.search(expr):
            self.add(
                path,
                "unsafe-sql",
                f"`{m.group(1).upper()}` changes the server's database, extensions or files rather than "
                "reading a table; lumen-ext serve runs DuckDB without external access, so it fails there",
                "ship the data beside the spec, or have the operator set `duckdb_external_access = true`",
            )
        for literal in _SQL_STRING.findall(expr):
            literal = literal.replace("''", "'")
            if url_scheme(literal) or "/" in literal or _DUCKDB_FILE.search(literal):
                self.location(path, literal, duckdb=True)

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
            _text(c if isinstance(c, str) else c.get("name")) for c in controls if isinstance(c, (str, dict))
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


def _text(value: Any) -> str | None:
    """``value`` when it is a string, else None: spec values compared with sets may be any YAML node."""
    return value if isinstance(value, str) else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _dicts(node: Any, path: Path_) -> Iterator[tuple[Path_, dict]]:
    """Every mapping at or below ``node`` with its path, parents first, in document order.

    With an explicit stack: a recursive generator hands each mapping up through every enclosing generator, so
    30,000 mappings 95 levels down cost 3 million steps (the validator's fuzzer found it). Data PyYAML built
    from a recursive alias (``a: &a [*a]``) contains itself: that raises RecursionError, as the recursion did,
    which `unsafe_constructs` reports."""
    ancestors: set[int] = set()
    stack: list[tuple[Path_, Any, bool]] = [(path, node, False)]
    while stack:
        path, node, leaving = stack.pop()
        if leaving:
            ancestors.discard(id(node))
            continue
        if id(node) in ancestors:
            raise RecursionError("the data contains itself")
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


def _table_locations(tables: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """(path, location) of each table of a file/json source: a list or mapping of paths, or `[path, ext]`."""
    items = (
        tables.items() if isinstance(tables, dict) else enumerate(tables) if isinstance(tables, list) else ()
    )
    for key, entry in items:
        if isinstance(entry, list) and entry:
            yield (*path, key, 0), entry[0]
        else:
            yield (*path, key), entry


def unsafe_constructs(data: Any, spec_path: Path, policy: Policy | None = None) -> list[SchemaIssue]:
    """Every unsafe construct in ``data`` (the spec at ``spec_path``, loaded safely), in walk order. Never raises."""
    if not isinstance(data, dict):
        return []
    try:
        return _Linter(data, Path(spec_path), policy or Policy()).run()
    except RecursionError:
        return [
            _issue(
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
    """`unsafe_constructs` for the spec file at ``path``, positioned (safe load: nothing in the file runs)."""
    from lumen_ext.validation.loader import load_text

    path = Path(path)
    loaded = load_text(path.read_text(encoding="utf-8-sig"))
    located = []
    for issue in unsafe_constructs(loaded.data, path, policy):
        span = loaded.locate(issue.path, issue.target)
        located.append(LocatedIssue(str(path), span.line, span.column, issue))
    return located
