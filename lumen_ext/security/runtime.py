"""``harden(policy)``: close Lumen 1.4's code-execution, file and SQL paths in the running server process.

Each guard is the replacement of one Lumen function or method (site-packages is never edited) and cites the vector it
closes (LUMEN-NOTES §5). The hooks table (:mod:`lumen_ext.hooks.table`, group ``security``) installs them before any
dashboard is built; ``harden(policy)`` enables that group on its own and ``restore()`` disables it (tests use them).

==========  ====================================================================================================
vector      guard
==========  ====================================================================================================
S1 S2 S3    ``load_yaml``/``expand_spec``: sandboxed Jinja, no ``shell()``, ``yaml.SafeLoader`` (also for the
S16 S12     per-session reload/edit path and the auth YAML plugin); request values inserted as data
S4          ``env()`` only for ``allowed_env``; ``Variable.to_spec`` drops the value of ``secure: true`` variables
S7 S8       ``resolve_module_reference`` allow-list, nested objects must be Parameterized classes; callbacks
            from ``allowed_callbacks`` only
S9          ``load_local_modules`` refuses ``views.py``/... unless ``allow_local_modules``
S5 S13      file/json source paths (after template expansion) inside the project root or ``allowed_dirs``,
            URLs only with ``allowed_url_schemes``
S6          DuckDB connections: ``allowed_directories`` = the roots, ``enable_external_access = false``
S14         ``cache_dir`` must be a subfolder of the roots; ``clear_cache`` never deletes a root or its parents
S10         ``query``/``eval`` transforms run only data expressions (`lumen_ext.security.expressions`)
S11         ``sql_format`` string parameters become quoted identifiers; boolean filters work on SQL sources
S12         ``config.editable: true`` refused unless ``allow_editable``
S15         ``auth:`` denies on a missing claim and when no OAuth provider is configured (unless ``dev``)
faults      ``show_traceback`` off unless ``dev``; failures show a card with an error id that the log repeats;
            a failing pipeline or layout becomes a card in its place, a view that raises becomes a card
==========  ====================================================================================================
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumen_ext.security.errors import error_card_html, record_error
from lumen_ext.security.expressions import expression_problem
from lumen_ext.security.imports import LOCAL_MODULES, reference_problem
from lumen_ext.security.paths import is_inside, resolve_under, url_scheme
from lumen_ext.security.policy import Policy
from lumen_ext.security.templating import RequestValues, SpecLoadRefused, load_spec_text, render_spec_text

__all__ = [
    "PolicyViolation",
    "activate_policy",
    "current_policy",
    "deactivate_policy",
    "harden",
    "is_hardened",
    "restore",
]

log = logging.getLogger("lumen_ext.security")

_active: Policy | None = None

# Lumen modules whose names the guards rebind; imported up front so that every module importing a guarded function
# by name is loaded when the hooks replace it there, and a later lazy import cannot keep an original.
_LUMEN_MODULES = (
    "lumen.util",
    "lumen.config",
    "lumen.base",
    "lumen.state",
    "lumen.auth",
    "lumen.pipeline",
    "lumen.layout",
    "lumen.dashboard",
    "lumen.schema",
    "lumen.sources.base",
    "lumen.sources.duckdb",
    "lumen.transforms.base",
    "lumen.transforms.sql",
    "lumen.filters.base",
    "lumen.variables.base",
    "lumen.views.base",
)


class PolicyViolation(ValueError):
    """The spec asked for something the server's policy refuses. Lumen's callers treat it as a load error."""


def current_policy() -> Policy | None:
    return _active


def is_hardened() -> bool:
    return _active is not None


def activate_policy(settings: Any) -> None:
    """The first security hook: record the policy in force and load the Lumen modules the guards rebind in."""
    global _active
    import importlib

    for name in _LUMEN_MODULES:
        importlib.import_module(name)
    _active = _policy(settings)
    log.info("lumen-ext security policy active%s", f" (from {_active.source})" if _active.source else "")


def deactivate_policy() -> None:
    global _active
    _active = None


def harden(policy: Policy | None = None) -> Policy:
    """Enable every guard of the hooks table for ``policy`` (default: `Policy()`); re-hardening swaps policies."""
    from lumen_ext import hooks

    policy = policy or Policy()
    hooks.enable("security", settings=hooks.Settings(policy=policy))
    return policy


def restore() -> None:
    """Disable every guard, restoring Lumen's own functions."""
    from lumen_ext import hooks

    hooks.disable("security")


def _policy(settings: Any) -> Policy:
    return settings.policy or Policy()


# -- S1 S2 S3 S4 S12 S16: loading ------------------------------------------------------------------------------


def _request_values() -> RequestValues:
    import panel as pn

    return RequestValues(
        headers=dict(pn.state.headers or {}),
        cookies=dict(pn.state.cookies or {}),
        oauth=pn.state.user_info,
    )


def safe_load_yaml(original: Callable, settings: Any) -> Callable:
    """``lumen.config.load_yaml``: sandboxed Jinja, no ``shell()``, ``yaml.SafeLoader``, request values as data."""
    import yaml

    lconfig = _module("lumen.config")
    policy = _policy(settings)

    def load_yaml(yaml_spec: str, **flags: bool) -> Any:
        flags.pop("getshell", None)  # never available, whatever the caller asks
        try:
            return load_spec_text(
                yaml_spec,
                lconfig.config.template_vars,
                allowed_env=policy.allowed_env,
                request=_request_values(),
                **flags,
            )
        except SpecLoadRefused as exc:
            raise PolicyViolation(str(exc)) from exc
        except yaml.constructor.ConstructorError as exc:
            if "python/" in str(exc):
                raise PolicyViolation(
                    f"the spec uses a Python YAML tag, which lumen-ext never constructs: {exc}"
                ) from exc
            raise

    return load_yaml


def safe_expand_spec(original: Callable, settings: Any) -> Callable:
    """``lumen.util.expand_spec``: the same sandboxed rendering for values expanded after loading."""
    policy = _policy(settings)

    def expand_spec(
        pars, context=None, getenv=True, getshell=True, getheaders=True, getcookies=True, getoauth=True
    ):
        if isinstance(pars, dict):
            return {
                k: expand_spec(v, context, getenv, False, getheaders, getcookies, getoauth)
                for k, v in pars.items()
            }
        if isinstance(pars, (list, tuple, set)):
            return type(pars)(
                expand_spec(v, context, getenv, False, getheaders, getcookies, getoauth) for v in pars
            )
        if not isinstance(pars, str):
            return pars
        try:
            text, tokens = render_spec_text(
                pars,
                context,
                allowed_env=policy.allowed_env,
                request=_request_values(),
                getenv=getenv,
                getheaders=getheaders,
                getcookies=getcookies,
                getoauth=getoauth,
            )
        except SpecLoadRefused as exc:
            raise PolicyViolation(str(exc)) from exc
        return tokens.substitute(text)

    return expand_spec


def safe_yaml_module(original: Any, settings: Any) -> Any:
    """``yaml`` as lumen.auth sees it: YamlAuthMapperPlugin reads its group file with ``yaml.Loader`` (auth.py:77)."""
    return _SafeYamlModule()


class _SafeYamlModule:
    """``yaml`` as seen by lumen.auth: every ``load`` uses ``SafeLoader``, whatever Loader is asked for."""

    def __getattr__(self, name: str) -> Any:
        import yaml

        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any = None) -> Any:
        import yaml

        return yaml.load(stream, Loader=yaml.SafeLoader)


# -- S7 S8 S9: imports -----------------------------------------------------------------------------------------


def allowed_module_reference(original: Callable, settings: Any) -> Callable:
    """``lumen.util.resolve_module_reference``: only allowed modules, and nested objects must be components."""
    import param

    policy = _policy(settings)

    def resolve_module_reference(reference: str, component_type: type | None = None) -> Any:
        if problem := reference_problem(reference, policy):
            raise PolicyViolation(problem)
        component = original(reference, component_type)
        # Without an expected base class Lumen instantiates (or calls) whatever it found with the spec's
        # arguments (nested view objects, base.py:333; views/base.py:439, 580): only components qualify.
        if component_type is None and not (
            isinstance(component, type) and issubclass(component, param.Parameterized)
        ):
            raise PolicyViolation(
                f"{reference!r} is not a Parameterized component class, so a spec may not create it"
            )
        return component

    return resolve_module_reference


def allowed_callback(original: Any, settings: Any) -> Any:
    """``Config._validate_callback``: ``config.on_*`` callbacks only from ``allowed_callbacks``."""
    from lumen_ext import hooks

    policy = _policy(settings)
    resolve = hooks.original("lumen.util:resolve_module_reference")  # a callback is no component: unguarded

    def _validate_callback(cls: type, callback: Any) -> Any:
        if isinstance(callback, str):
            if problem := reference_problem(callback, policy, callback=True):
                raise PolicyViolation(problem)
            return resolve(callback)
        return callback

    return classmethod(_validate_callback)


def guarded_local_modules(original: Callable, settings: Any) -> Callable:
    """``config.load_local_modules``: ``views.py`` and friends beside the spec only with ``allow_local_modules``."""
    policy = _policy(settings)

    def load_local_modules(self: Any) -> None:
        if not policy.allow_local_modules:
            found = [name for name in LOCAL_MODULES if os.path.isfile(os.path.join(self.root, name))]
            if found:
                raise PolicyViolation(
                    f"{', '.join(found)} beside the spec would be executed; the server's policy does not allow "
                    "local modules (allow_local_modules)"
                )
        return original(self)

    return load_local_modules


# -- S5 S6 S13 S14: paths --------------------------------------------------------------------------------------
def _check_location(policy: Policy, value: Any, base: Path, what: str) -> None:
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    scheme = None if isinstance(value, os.PathLike) else url_scheme(text)
    if scheme == "file":
        raise PolicyViolation(f"{what}: file:// URLs are refused; give a path inside the project")
    if scheme is not None:
        if scheme not in policy.allowed_url_schemes:
            raise PolicyViolation(f"{what}: {scheme}:// URLs are not in the policy's allowed_url_schemes")
        return
    resolved = resolve_under(text, base)
    roots = policy.roots(base)
    if not is_inside(resolved, roots):
        raise PolicyViolation(
            f"{what}: {text!r} resolves to {resolved}, outside the project ({', '.join(map(str, roots))}); "
            "the operator can allow its directory with allowed_dirs"
        )


def _source_base(source: Any) -> Path:
    return Path(source.root or os.getcwd())


def _cache_dir_problem(policy: Policy, source: Any) -> str | None:
    base = _source_base(source)
    path = resolve_under(source.cache_dir, base)
    roots = policy.roots(base)
    if not is_inside(path, roots, strictly=True) or any(root.is_relative_to(path) for root in roots):
        return (
            f"cache_dir {source.cache_dir!r} of source {source.name!r} resolves to {path}; Lumen deletes it on "
            "reload, so it must be a subfolder of the project (e.g. `cache_dir: cache`)"
        )
    return None


def guarded_template_vars(original: Callable, settings: Any) -> Callable:
    """``_resolve_template_vars`` of file and JSON sources: paths (after expansion) inside the project roots."""
    policy = _policy(settings)

    def _resolve_template_vars(self: Any, table: Any) -> list:
        paths = original(self, table)
        for path in paths:
            _check_location(policy, path, _source_base(self), f"source {self.name!r}")
        return paths

    return _resolve_template_vars


def guarded_source_init(original: Callable, settings: Any) -> Callable:
    """``Source.__init__``: a ``cache_dir`` must be a subfolder of the roots (a reload deletes it)."""
    policy = _policy(settings)

    def __init__(self: Any, **params: Any) -> None:
        original(self, **params)
        if self.cache_dir and (problem := _cache_dir_problem(policy, self)):
            raise PolicyViolation(problem)

    return __init__


def fenced_clear_cache(original: Callable, settings: Any) -> Callable:
    """``Source.clear_cache``: Lumen's own body (sources/base.py:643-653), with the rmtree fenced in."""
    policy = _policy(settings)

    def clear_cache(self: Any, *events: Any) -> None:
        self._cache = {}
        self._schema_cache = {}
        self._metadata_cache = {}
        if not self.cache_dir:
            return
        if problem := _cache_dir_problem(policy, self):
            log.error("refusing to delete a cache folder: %s", problem)
            return
        path = resolve_under(self.cache_dir, _source_base(self))
        if path.is_dir():
            shutil.rmtree(path)

    return clear_cache


def guarded_read_expr(original: Callable, settings: Any) -> Callable:
    """``DuckDBSource._create_file_read_expr``: the files a DuckDB table reads inside the roots."""
    policy = _policy(settings)

    def _create_file_read_expr(self: Any, file_path: str) -> str:
        # DuckDB (and detect_file_encoding) resolve relative paths against the working directory.
        _check_location(policy, file_path, Path.cwd(), f"DuckDB source {self.name!r}")
        return original(self, file_path)

    return _create_file_read_expr


def sandboxed_duckdb(original: Any, settings: Any) -> Any:
    """``duckdb`` as lumen.sources.duckdb sees it: ``connect`` returns a file-system-sandboxed database."""
    lconfig = _module("lumen.config")
    return _SandboxedDuckDB(original, _policy(settings), lambda: Path(lconfig.config.root or os.getcwd()))


class _SandboxedDuckDB:
    """The ``duckdb`` module as lumen.sources.duckdb sees it: ``connect`` returns a file-system-sandboxed database.

    ``enable_external_access = false`` cannot be switched back on while the database runs, and with it off
    ``allowed_directories`` cannot be changed either, so initializers and table SQL written by the spec stay
    inside the roots (no ``INSTALL``, ``ATTACH`` or ``read_csv('/etc/...')``, no network).
    """

    def __init__(self, module: Any, policy: Policy, base: Callable[[], Path]):
        self._module = module
        self._policy = policy
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def connect(self, database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        base = self._base()
        if database and str(database) != ":memory:" and not str(database).startswith((":memory:", "md:")):
            _check_location(self._policy, database, Path.cwd(), "DuckDB database")
        connection = self._module.connect(database, *args, **kwargs)
        if not self._policy.duckdb_external_access:
            dirs = ", ".join(
                "'" + (str(root) + os.sep).replace("'", "''") + "'" for root in self._policy.roots(base)
            )
            connection.execute(f"SET allowed_directories = [{dirs}]")
            connection.execute("SET enable_external_access = false")
        return connection


# -- S10 S11: viewer input stays data --------------------------------------------------------------------------


def _expression_guard(attribute: str, assignments: bool) -> Callable[[Callable, Any], Callable]:
    def make(original: Callable, settings: Any) -> Callable:
        def apply(self: Any, table: Any) -> Any:
            if problem := expression_problem(getattr(self, attribute), assignments=assignments):
                raise PolicyViolation(f"{type(self).__name__.lower()} transform refused: {problem}")
            return original(self, table)

        return apply

    return make


guarded_query = _expression_guard("query", assignments=False)
guarded_query.__doc__ = (
    "``Query.apply``: only data expressions (columns, literals, comparisons, column methods)."
)
guarded_eval = _expression_guard("expr", assignments=True)
guarded_eval.__doc__ = "``Eval.apply``: only data expressions, and assignments to columns."


def quoted_sql_format(original: Callable, settings: Any) -> Callable:
    """``SQLFormat.apply`` (transforms/sql.py:267-290), except that a string parameter is always a *quoted*
    identifier: ``*, (SELECT ...) AS pw`` names a (missing) column instead of becoming SQL."""
    from sqlglot import expressions as exp

    def apply(self: Any, sql_in: str) -> str:
        template = re.sub(r"\{(\w+)\}", r":\1", sql_in)
        expression = self.parse_sql(template)
        if self.parameters:
            parameters = {
                k: exp.Identifier(this=v, quoted=True) if isinstance(v, str) else v
                for k, v in self.parameters.items()
            }
            expression = exp.replace_placeholders(expression, **parameters)
        return self.to_sql(expression)

    return apply


def boolean_sql_filters(original: Callable, settings: Any) -> Callable:
    """``SQLFilterBase._build_filter_conditions`` that compiles boolean values: Lumen drops them with a warning
    (transforms/sql.py:706-708, 726-729), so a checkbox filter silently leaves a SQL table unfiltered."""
    import numpy as np
    from sqlglot import expressions as exp

    def _build_filter_conditions(self: Any, conditions: list) -> list:
        plain, booleans = [], []
        for col, val in conditions:
            values = val if isinstance(val, list) else [val]
            if values and all(isinstance(v, (bool, np.bool_)) for v in values):
                column = exp.Column(this=exp.Identifier(this=col, quoted=True))
                literals = [exp.Boolean(this=bool(v)) for v in values]
                booleans.append(
                    column.eq(literals[0]) if not isinstance(val, list) else column.isin(*literals)
                )
            else:
                plain.append((col, val))
        return original(self, plain) + booleans

    return _build_filter_conditions


# -- S4 S12 S15: secrets, editing, auth ------------------------------------------------------------------------


def hide_secure_values(original: Callable, settings: Any) -> Callable:
    """``Variable.to_spec``: the value of a ``secure: true`` variable is never exported."""

    def to_spec(self: Any, context: Any = None) -> dict:
        spec = original(self, context=context)
        if self.secure:
            for key in ("value", "default"):
                spec.pop(key, None)
        return spec

    return to_spec


def guarded_config_from_spec(original: Any, settings: Any) -> Any:
    """``Config.from_spec``: ``editable`` only with ``allow_editable``; tracebacks in the page only with ``dev``."""
    policy = _policy(settings)
    config_from_spec = original.__func__

    def from_spec(cls: type, spec: Any) -> Any:
        if isinstance(spec, dict):
            if spec.get("editable") and not policy.allow_editable:
                raise PolicyViolation(
                    "config.editable would let every viewer edit and reload the spec; the server's policy does "
                    "not allow it (allow_editable)"
                )
            spec = dict(spec, show_traceback=policy.dev)
        return config_from_spec(cls, spec)

    return classmethod(from_spec)


def failing_closed_auth(original: Any, settings: Any) -> Any:
    """``AuthSpec.authorized``: a missing claim, or no OAuth provider at all, denies (unless ``dev``)."""
    policy = _policy(settings)

    def authorized(self: Any) -> bool:
        import panel as pn

        if not self.spec:
            return True
        user = pn.state.user_info
        if user is None:
            # No OAuth provider: nobody can be checked. Lumen lets everyone in under --dev/--autoreload.
            return policy.dev
        for key, wanted in self.spec.items():
            if key not in user:
                log.warning("auth: claim %r is missing from the user's OAuth data; access denied", key)
                return False
            wanted = wanted if isinstance(wanted, list) else [wanted]
            got = user[key] if isinstance(user[key], list) else [user[key]]
            if not self.case_sensitive:
                wanted = [w.lower() if isinstance(w, str) else w for w in wanted]
                got = [g.lower() if isinstance(g, str) else g for g in got]
            wanted = [w.strip() if isinstance(w, str) else w for w in wanted]
            if not any(g == w for w in wanted for g in got):
                return False
        return True

    return property(authorized)


# -- faults stay local -----------------------------------------------------------------------------------------


# Per Bokeh document (session): pipeline name -> error id of its failure to load.
_FAILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FAILED_NO_DOCUMENT: dict[str, str] = {}


def _failed_pipelines() -> dict[str, str]:
    import panel as pn

    doc = pn.state.curdoc
    if doc is None:
        return _FAILED_NO_DOCUMENT
    return _FAILED.setdefault(doc, {})


def _failed_cause(layout_spec: dict) -> str | None:
    """The error id of a failed pipeline this layout (or one of its views) names, if any."""
    failed = _failed_pipelines()
    views = layout_spec.get("views", [])
    names = [layout_spec.get("pipeline")]
    names += [
        v.get("pipeline")
        for v in (views.values() if isinstance(views, dict) else views)
        if isinstance(v, dict)
    ]
    return next((failed[n] for n in names if isinstance(n, str) and n in failed), None)


class FaultLayout:
    """Stands in for a `lumen.layout.Layout` that failed to build: shows its card, offers no filters."""

    def __init__(self, title: str, card_html: str):
        self.title = title
        self._card_html = card_html
        self._pipelines: dict = {}
        self.show_title = True
        self.refs: list = []

    @property
    def panels(self) -> Any:
        import panel as pn

        return pn.Column(
            pn.pane.HTML(self._card_html, sizing_mode="stretch_width"),
            name=self.title,
            sizing_mode="stretch_width",
        )

    def get_filter_panel(self, skip: Any = None, apply_button: bool = True) -> None:
        return None


def fenced_render_dashboard(original: Callable, settings: Any) -> Callable:
    """``Dashboard._render_dashboard`` (dashboard.py:616-639) with a card and an error id instead of a traceback."""
    import panel as pn
    from lumen.dashboard import Tabs

    policy = _policy(settings)

    def _render_dashboard(self: Any) -> None:
        try:
            self._materialize_specification()
            self._render()
            self._main[:] = [self._layout]
        except Exception as exc:
            error_id = record_error(exc, f"rendering the dashboard {self._yaml_file}")
            self._main.loading = False
            html = error_card_html("The dashboard could not be loaded", error_id, exc, policy.dev)
            self._main[:] = [pn.pane.HTML(html, sizing_mode="stretch_width")]
        if isinstance(self._layout, Tabs) and self.config.sync_with_url:
            pn.state.location.sync(self._layout, {"active": "layout"})

    return _render_dashboard


def fenced_load_pipelines(original: Callable, settings: Any) -> Callable:
    """``state.load_pipelines`` (state.py:294-302), one pipeline at a time: a missing or corrupt source fails only
    the pipelines (and then the layouts) that read it."""

    def load_pipelines(self: Any, **kwargs: Any) -> dict:
        from lumen.pipeline import Pipeline

        pipelines = self.pipelines
        failed = _failed_pipelines()
        failed.clear()
        for name, pipeline_spec in self.spec.get("pipelines", {}).items():
            try:
                pipelines[name] = Pipeline.from_spec(dict(pipeline_spec, name=name, **kwargs))
            except Exception as exc:
                failed[name] = record_error(exc, f"loading pipeline {name!r}")
                pipelines.pop(name, None)
        return pipelines

    return load_pipelines


def fenced_load_layout(original: Callable, settings: Any) -> Callable:
    """``Dashboard._load_layout``: a layout that fails to build becomes a card in its place."""
    policy = _policy(settings)

    def _load_layout(self: Any, layout_spec: dict) -> Any:
        try:
            return original(self, layout_spec)
        except Exception as exc:
            title = str(layout_spec.get("title", "Layout"))
            error_id = _failed_cause(layout_spec)
            if error_id is not None:
                # The pipeline's own failure is the story; its error id is the one worth quoting.
                log.error("error %s also hides layout %r, which reads that pipeline", error_id, title)
            else:
                error_id = record_error(exc, f"building layout {title!r}")
            return FaultLayout(
                title, error_card_html(f"{title} could not be shown", error_id, exc, policy.dev)
            )

    return _load_layout


def fenced_view_panel(original: property, settings: Any) -> property:
    """``View.panel``: a view that raises while rendering becomes a card; the other views render."""
    import panel as pn

    policy = _policy(settings)

    def panel(self: Any) -> Any:
        try:
            return original.fget(self)
        except Exception as exc:
            name = self.title or self.name
            error_id = record_error(exc, f"rendering view {name!r}")
            return pn.pane.HTML(
                error_card_html(f"View {name} could not be shown", error_id, exc, policy.dev),
                sizing_mode="stretch_width",
            )

    return property(panel)


def _module(name: str) -> Any:
    """The module object itself: ``import lumen.config as x`` would give the ``config`` instance lumen exports."""
    import importlib

    return importlib.import_module(name)
