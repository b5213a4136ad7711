"""Third-party components, from entry points (lumen-ext's own are in the generated catalog, see ``generate.py``).

Third-party packages register under the entry-point group ``lumen_ext.components``::

    [project.entry-points."lumen_ext.components"]
    my_components = "my_pkg.lumen_spec:COMPONENTS"

The entry point may load

* a component description, or a list of them, in the format of ``_lumen_components.json``
  (``{"family": "source", "type": "my_source", "class": "my_pkg.sources.MySource", "fields": {...},
  "keys_checked": true, "required": [...]}``). Cheapest: the validator never imports Lumen for it.
  ``describe(cls)`` produces one from a Lumen class, e.g. in the plugin's own build step;
* a Lumen component class (a ``Source``/``Transform``/``Filter``/``View``/``Variable`` subclass), described on
  load (this imports Lumen, so it costs Panel's import time on every validation);
* a zero-argument callable returning either of the above.

A plugin that fails to load never breaks validation: the failure is kept in ``Catalog.plugin_errors``.
"""

from __future__ import annotations

import configparser
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumen_ext.spec.catalog import Catalog

ENTRY_POINT_GROUP = "lumen_ext.components"


def describe(cls: type, family: str | None = None) -> dict[str, Any]:
    """Describe a Lumen component class in the catalog format (imports Lumen)."""
    from lumen_ext.spec.component_entries import describe_component
    from lumen_ext.spec.param_descriptors import component_family

    family = family or component_family(cls)
    if family not in {"source", "transform", "sql_transform", "filter", "view", "variable"}:
        raise TypeError(f"{cls!r} is not a Lumen Source, Transform, SQLTransform, Filter, View or Variable")
    entry = describe_component(cls, family)
    entry["family"] = family
    entry["type"] = cls._component_type
    return entry


def _validate_entry(entry: Any, origin: str) -> None:
    if not isinstance(entry, dict):
        raise TypeError(f"{origin}: a component description must be a mapping, got {type(entry).__name__}")
    missing = [k for k in ("family", "type", "fields") if k not in entry]
    if missing:
        raise ValueError(f"{origin}: component description lacks {', '.join(missing)}")
    if entry["family"] not in {"source", "transform", "sql_transform", "filter", "view", "variable"}:
        raise ValueError(f"{origin}: unknown component family {entry['family']!r}")
    if not isinstance(entry["fields"], dict):
        raise TypeError(f"{origin}: 'fields' must be a mapping of key -> type descriptor")


def _as_entries(obj: Any, origin: str) -> list[dict[str, Any]]:
    if isinstance(obj, type):
        return [describe(obj)]
    if callable(obj) and not isinstance(obj, dict | list | tuple):
        return _as_entries(obj(), origin)
    items = obj if isinstance(obj, list | tuple) else [obj]
    entries = []
    for item in items:
        if isinstance(item, type):
            entries.append(describe(item))
            continue
        _validate_entry(item, origin)
        entries.append(item)
    return entries


def _installed_entry_points() -> list[tuple[str, str, str]]:
    """(distribution, name, "module:attr") of every ``lumen_ext.components`` entry point on ``sys.path``.

    ``importlib.metadata.entry_points()`` builds a Distribution for every installed package, which costs more
    than the whole validation of a spec; reading the ``entry_points.txt`` files directly and parsing only those
    that mention the group takes a few milliseconds. Like importlib.metadata, the first distribution of a given
    name on ``sys.path`` wins.
    """
    header = f"[{ENTRY_POINT_GROUP}]"
    found: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for location in sys.path:
        try:
            entries = list(os.scandir(location or "."))
        except OSError:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            if not entry.name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if header not in text:
                continue
            dist = _distribution_name(entry.path) or entry.name.split("-", 1)[0]
            if dist in seen:
                continue
            seen.add(dist)
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]  # entry point names are case-sensitive
            parser.read_string(text)
            found.extend((dist, name, value.strip()) for name, value in parser.items(ENTRY_POINT_GROUP))
    return found


def _distribution_name(dist_dir: str) -> str | None:
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(dist_dir, filename), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Name:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return None


def _load(value: str) -> Any:
    module_name, _, attrs = value.partition(":")
    obj = importlib.import_module(module_name.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def plugin_entries() -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(origin, entry) pairs from the installed distributions' entry points, and load errors."""
    found: list[tuple[str, dict[str, Any]]] = []
    errors: list[str] = []
    for dist, name, value in _installed_entry_points():
        origin = f"{dist}:{name}"
        try:
            found.extend((origin, entry) for entry in _as_entries(_load(value), origin))
        except Exception as exc:  # a broken plugin must not break validation of unrelated specs
            errors.append(f"{origin}: {type(exc).__name__}: {exc}")
    return found, errors


def merge_into(cat: Catalog, plugins: bool = True) -> None:
    """Add the entry-point components (when ``plugins``) to a catalog of the built-ins.

    A plugin may not silently replace a built-in type name (Lumen's or lumen-ext's): Lumen itself resolves short
    names to the first matching class (LUMEN-NOTES §1.14), so a clash is recorded as an error and the built-in
    wins.
    """
    if not plugins:
        cat.plugin_errors = []
        return
    sources, errors = plugin_entries()
    for origin, entry in sources:
        types = cat.families[entry["family"]]
        if entry["type"] in types:
            errors.append(f"{origin}: {entry['family']} type {entry['type']!r} is already defined; ignored")
            continue
        normalized = {
            "class": entry.get("class", f"{origin}.{entry['type']}"),
            "doc": entry.get("doc"),
            "keys_checked": bool(entry.get("keys_checked", True)),
            "allows_refs": bool(entry.get("allows_refs", True)),
            "required": list(entry.get("required", [])),
            "fields": dict(entry["fields"]),
        }
        types[entry["type"]] = normalized
        cat.plugins[f"{entry['family']}:{entry['type']}"] = origin
    cat.plugin_errors = errors
