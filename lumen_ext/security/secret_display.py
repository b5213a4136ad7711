"""S4, displayed: which places of a spec reach the browser, and which variables hold a secret.

A ``secure: true`` variable exists to feed the server: a password in a DuckDB or SQL ``uri``, a token in a source's
headers. Lumen 1.4 ignores the flag (LUMEN-NOTES §1.5, §5 S4): ``title: $variables.token`` on a view renders the
token into the page and sends it over the WebSocket, and so does ``{{ env('TOKEN') }}`` anywhere.

This module is the one definition of *displayed* that both sides use, so they agree on every place:

* ``lumen-ext validate`` reports each reference to a secret in a displayed place (rule ``secret-displayed``,
  :mod:`lumen_ext.validation.secret_security`);
* the server shows `MASK` there instead (hooks ``security.secure-display`` for ``$variables.NAME``, and
  ``security.load-yaml`` for the values Jinja's ``env()`` inserts), while sources keep the real value.

Displayed, deny by default inside the parts Lumen turns into widgets and panes:

* ``config``: every key (title, logo, template arguments: all rendered into the page);
* layouts and views: every key except the data they read (``source``, ``pipeline``, ``table``), which are
  followed as sources and pipelines; ``views`` and ``hv_overlay`` ``layers`` are views;
* filters (of pipelines, layouts, and the legacy ``filters`` of a source): every key, since a widget shows its
  ``value``, ``label`` and options. A ``constant`` filter has no widget: only its ``value``, and only when
  ``config.sync_with_url`` copies it into the page URL;
* transforms: the parameters named in ``controls`` (each becomes a widget) and the control entries themselves;
* ``widget`` and ``url`` variables: every key (the widget shows it; the URL carries it).

Not displayed: sources (where secrets belong), the rest of pipelines and transforms, ``auth`` and ``defaults``.
The data a source returns is not followed: a secret that is also a column value is the data's business.

A variable carries a secret when it is ``secure: true``, or when its own spec (a ``constant``'s ``default``...)
refers to a variable that carries one, or takes one through Jinja ``env()``: Lumen resolves such aliases before
anything is shown. Viewer variables (``widget``, ``url``) never carry one onward: their own references are
displayed, so they are reported and masked where they are written.

No Lumen or Panel imports: the validator uses this module too.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "MASK",
    "Displayed",
    "conceal",
    "displayed_strings",
    "secret_env_keys",
    "secret_references",
    "secret_variables",
]

log = logging.getLogger("lumen_ext.security")

MASK = "••••"
# Lumen's own pattern (lumen/util.py VARIABLE_RE).
VARIABLE_REF = re.compile(r"\$variables\.([A-Za-z_]\w*)")
# Variable types whose every key reaches the browser: a widget shows its value and options, a url variable is the
# page's query string.
DISPLAYED_VARIABLES = frozenset({"widget", "url"})
# Keys naming what a component reads, not what it shows; a nested spec under them is followed by its own rules.
_DATA_KEYS = frozenset({"source", "pipeline", "table", "type"})

Path = tuple[Any, ...]
# A string of the spec at ``path`` -> the secret variable it carries besides ``$variables`` references (the Jinja
# ``env()`` of a secure variable's key), or None.
Carried = Callable[[Path, str], "str | None"]


@dataclass(frozen=True)
class Displayed:
    """A string of the spec that reaches the browser."""

    path: Path
    text: str
    place: str  # for messages: "a view's `title`"


# -- which variables hold a secret -------------------------------------------------------------------------------


def secret_variables(spec: Any, carried: Carried | None = None) -> dict[str, str]:
    """Variables carrying a secret: name -> the ``secure: true`` variable (or env key) whose value it holds."""
    variables = spec.get("variables") if isinstance(spec, dict) else None
    if not isinstance(variables, dict):
        return {}
    secret = {
        name: name
        for name, vspec in variables.items()
        if isinstance(vspec, dict) and vspec.get("secure") is True
    }
    changed = True
    while changed:  # aliases of aliases: at most one pass per variable
        changed = False
        for name, vspec in variables.items():
            if name in secret or _shown_variable(vspec):
                continue
            for path, text in _strings(("variables", name), vspec):
                origin = next((secret[m] for m in VARIABLE_REF.findall(text) if m in secret), None)
                origin = origin or (carried(path, text) if carried else None)
                if origin:
                    secret[name] = origin
                    changed = True
                    break
    return secret


def _shown_variable(spec: Any) -> bool:
    """A ``widget`` or ``url`` variable (``type:`` may be any YAML value in a broken spec)."""
    return (
        isinstance(spec, dict) and isinstance(spec.get("type"), str) and spec["type"] in DISPLAYED_VARIABLES
    )


def secret_env_keys(spec: Any) -> dict[str, str]:
    """Environment keys of ``secure: true`` env variables -> the variable's name (what Jinja ``env()`` may read)."""
    variables = spec.get("variables") if isinstance(spec, dict) else None
    if not isinstance(variables, dict):
        return {}
    keys = {}
    for name, vspec in variables.items():
        if isinstance(vspec, dict) and vspec.get("type") == "env" and vspec.get("secure") is True:
            key = vspec.get("key") or name
            if isinstance(key, str):
                keys.setdefault(key, name)
    return keys


def secret_references(text: str, secrets: Mapping[str, str]) -> Iterator[re.Match]:
    """The ``$variables.NAME`` in ``text`` whose NAME carries a secret."""
    if "$variables." not in text:
        return
    for m in VARIABLE_REF.finditer(text):
        if m.group(1) in secrets:
            yield m


# -- which strings are displayed ---------------------------------------------------------------------------------


def displayed_strings(spec: Any) -> Iterator[Displayed]:
    """Every string of ``spec`` that reaches the browser (see the module docstring), in document order."""
    if not isinstance(spec, dict):
        return
    config = spec.get("config")
    url_sync = isinstance(config, dict) and config.get("sync_with_url") is True
    walk = _Walk(url_sync)
    if isinstance(config, dict):
        for key, value in config.items():
            yield from walk.shown(("config", key), value, f"config `{key}`")
    variables = spec.get("variables")
    if isinstance(variables, dict):
        for name, vspec in variables.items():
            if _shown_variable(vspec):
                for key, value in vspec.items():
                    if key not in ("type", "kind"):
                        where = f"{vspec['type']} variable `{name}`"
                        yield from walk.shown(("variables", name, key), value, where)
    for section, visit in (("sources", walk.source), ("pipelines", walk.pipeline)):
        entries = spec.get(section)
        if isinstance(entries, dict):
            for name, entry in entries.items():
                yield from visit((section, name), entry)
    layouts = spec.get("layouts", spec.get("targets"))
    if isinstance(layouts, list):
        for i, layout in enumerate(layouts):
            yield from walk.layout(("layouts", i), layout)


class _Walk:
    def __init__(self, url_sync: bool):
        self.url_sync = url_sync

    def shown(self, path: Path, value: Any, place: str) -> Iterator[Displayed]:
        for spath, text in _strings(path, value):
            yield Displayed(spath, text, place)

    def layout(self, path: Path, spec: Any) -> Iterator[Displayed]:
        if not isinstance(spec, dict):
            return
        for key, value in spec.items():
            if key == "views":
                for k, view in _entries(value):
                    yield from self.view((*path, key, k), view)
            elif key == "filters":
                yield from self.filters((*path, key), value)
            elif key in _DATA_KEYS:
                yield from self.data_key((*path, key), key, value)
            else:
                yield from self.shown((*path, key), value, f"a layout's `{key}`")

    def view(self, path: Path, spec: Any) -> Iterator[Displayed]:
        if not isinstance(spec, dict):
            return
        for key, value in spec.items():
            if key == "layers" and isinstance(value, list):  # hv_overlay: each layer is a view
                for i, layer in enumerate(value):
                    yield from self.view((*path, key, i), layer)
            elif key in _DATA_KEYS:
                yield from self.data_key((*path, key), key, value)
            else:
                yield from self.shown((*path, key), value, f"a view's `{key}`")

    def data_key(self, path: Path, key: str, value: Any) -> Iterator[Displayed]:
        if key == "pipeline":
            yield from self.pipeline(path, value)
        elif key == "source":
            yield from self.source(path, value)

    def pipeline(self, path: Path, spec: Any) -> Iterator[Displayed]:
        if not isinstance(spec, dict):
            return  # a pipeline's name
        for key, value in spec.items():
            if key == "filters":
                yield from self.filters((*path, key), value)
            elif key in ("transforms", "sql_transforms") and isinstance(value, list):
                for i, transform in enumerate(value):
                    yield from self.transform((*path, key, i), transform)
            elif key in ("source", "pipeline"):
                yield from self.data_key((*path, key), key, value)

    def source(self, path: Path, spec: Any) -> Iterator[Displayed]:
        if isinstance(spec, dict) and "filters" in spec:  # legacy source filters build widgets
            yield from self.filters((*path, "filters"), spec["filters"])

    def filters(self, path: Path, value: Any) -> Iterator[Displayed]:
        for k, spec in _entries(value):
            if not isinstance(spec, dict):
                continue  # a filter's name, or `auto`
            if spec.get("type") == "constant":
                # No widget; its value reaches the page only through the URL sync.
                if self.url_sync and spec.get("sync_with_url") is not False and "value" in spec:
                    where = "a constant filter's `value` (config.sync_with_url puts it in the page URL)"
                    yield from self.shown((*path, k, "value"), spec["value"], where)
                continue
            for key, fvalue in spec.items():
                if key != "type":
                    yield from self.shown((*path, k, key), fvalue, f"a filter's `{key}`")

    def transform(self, path: Path, spec: Any) -> Iterator[Displayed]:
        if not isinstance(spec, dict) or not isinstance(spec.get("controls"), list):
            return
        for i, control in enumerate(spec["controls"]):
            name = control.get("name") if isinstance(control, dict) else control
            if isinstance(name, str) and name in spec:
                yield from self.shown((*path, name), spec[name], f"a transform control `{name}`")
            if isinstance(control, dict):
                yield from self.shown((*path, "controls", i), control, "a transform control's options")


def _entries(value: Any) -> Any:
    """(key, item) of a mapping or a list of components; nothing for anything else."""
    return value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()


def _strings(path: Path, value: Any) -> Iterator[tuple[Path, str]]:
    """Every string value at or below ``value`` (not keys, not ``type:`` names), with its path; cycles skipped."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    seen: set[int] = set()
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            yield path, node
        elif isinstance(node, (dict, list)):
            if id(node) in seen:  # a YAML alias may make the data contain itself
                continue
            seen.add(id(node))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            children = [((*path, k), v) for k, v in items if not (k == "type" and isinstance(node, dict))]
            stack.extend(reversed(children))


# -- masking (the server) ----------------------------------------------------------------------------------------


def conceal(spec: Any, *, references: bool = True, tokens: Mapping[str, str] | None = None) -> Any:
    """``spec`` with every secret in a displayed string replaced by `MASK` (a copy; ``spec`` when nothing is).

    ``references``: mask ``$variables.NAME`` of variables carrying a secret. ``tokens``: substrings standing for
    a secret (the loader's tokens for ``env()`` values, before they are substituted) -> the variable's name;
    variables whose spec holds one are marked ``secure: true``, so the references to them are masked in turn.
    """
    tokens = dict(tokens or {})

    def carried(path: Path, text: str) -> str | None:
        return next((name for token, name in tokens.items() if token in text), None)

    secrets = secret_variables(spec, carried)
    masked = secrets if references else {}
    if not masked and not tokens:
        return spec
    changes: list[tuple[Displayed, str]] = []
    for shown in displayed_strings(spec):
        text, names = shown.text, []
        for m in reversed(list(secret_references(text, masked))):
            text = text[: m.start()] + MASK + text[m.end() :]
            names.append(m.group(1))
        for token, name in tokens.items():
            if token in text:
                text = text.replace(token, MASK)
                names.append(name)
        if names:
            changes.append((shown, text))
            for name in dict.fromkeys(names):
                _log_once(name, secrets.get(name, name), _dotted(shown.path), shown.place)
    # Aliases carry the secret too: marked secure, so `Variable.to_spec` keeps their value out of exports and the
    # references to them written under a name of their own are masked (here, or by the later hook for `env()`).
    derived = [n for n, origin in secrets.items() if n != origin and not _is_secure(spec, n)]
    if not changes and not derived:
        return spec
    spec = copy.deepcopy(spec)
    for shown, text in changes:
        _set(spec, shown.path, text)
    for name in derived:
        variable = spec["variables"][name]
        spec["variables"][name] = (
            dict(variable, secure=True)
            if isinstance(variable, dict)
            else {"type": "constant", "default": variable, "secure": True}
        )
    return spec


def _is_secure(spec: Any, name: str) -> bool:
    variable = spec["variables"][name]
    return isinstance(variable, dict) and variable.get("secure") is True


@lru_cache(maxsize=1024)  # once per place and process, whatever the number of sessions
def _log_once(name: str, origin: str, where: str, place: str) -> None:
    what = (
        f"secure variable {name!r}"
        if name == origin
        else f"{name!r} (the value of secure variable {origin!r})"
    )
    log.warning("%s reaches %s (%s), which is sent to the browser: shown as %s", what, place, where, MASK)


def _dotted(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _set(data: Any, path: Path, value: Any) -> None:
    *parents, last = path
    for key in parents:
        data = data[key]
    data[last] = value
