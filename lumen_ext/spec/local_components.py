"""Components defined in the Python modules beside a spec, read statically (``ast``): never imported, never run.

Lumen's ``config.load_local_modules`` (lumen/config.py:197-213) executes ``filters.py``, ``sources.py``,
``transforms.py``, ``template.py`` and ``views.py`` from the spec's folder; every class defined there that
subclasses a Lumen component becomes reachable by its ``*_type`` name, because ``MultiTypeComponent._get_type``
(lumen/base.py:778-804) scans ``param.concrete_descendents`` of the family's base. ``lumen serve`` also puts the
spec's folder on ``sys.path``, so ``type: views.MyView`` (a dotted path to a module beside the spec) imports it.

This module reads those files with Python's ``ast`` and describes each class in the catalog's format
(:mod:`lumen_ext.spec.catalog`): its family (from its base classes), its type name (its own or an inherited
``<family>_type`` string), and its keys (the inherited ones plus the class attributes declared as parameters).
What cannot be known without running the code is left open rather than guessed: a declared param's values are
not type-checked (``{"t": "any"}``), and a class whose keys depend on run-time code (``_panel_type``,
``_valid_keys``) is not key-checked. Whether the policy lets Lumen execute these files is a security question,
answered by ``lumen_ext.validation.security`` (one ``unsafe-import`` per module); the types validate either way,
so a forbidden module costs one error, not one more per use.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen_ext.spec.catalog import Catalog

__all__ = [
    "ABSTRACT_BASES",
    "LOCAL_MODULE_NAMES",
    "LocalComponents",
    "dotted_modules",
    "read_local_components",
]

# `type: module.Class` anywhere in the text (block or flow style, quoted or not): which other modules beside the
# spec to read. A false match only reads a file that exists beside the spec.
_DOTTED_TYPE = re.compile(r"""\btype\s*:\s*['"]?([A-Za-z_]\w*)\.[A-Za-z_]\w*(?![.\w])""")

# The files `load_local_modules` executes, in its order (template.py defines templates, not components).
LOCAL_MODULE_NAMES = ("filters", "sources", "transforms", "template", "views")

# Lumen's abstract component bases (`__abstract = True`, so never a type of their own) -> family. Concrete
# built-ins are found in the catalog by class name; tests/spec/test_local_components.py checks this table
# against the installed Lumen.
ABSTRACT_BASES = {
    "Source": "source",
    "Transform": "transform",
    "SQLTransform": "sql_transform",
    "Filter": "filter",
    "BaseWidgetFilter": "filter",
    "BaseDateFilter": "filter",
    "View": "view",
    "hvPlotBaseView": "view",
    "Variable": "variable",
}

# The class attribute that names a type: `<MultiTypeComponent subclass>.__name__.lower() + "_type"`; SQL
# transforms are Transforms (lumen/base.py `_component_type`).
TYPE_ATTRIBUTES = {
    "source": "source_type",
    "transform": "transform_type",
    "sql_transform": "transform_type",
    "filter": "filter_type",
    "view": "view_type",
    "variable": "variable_type",
}


@dataclass
class _ClassInfo:
    module: str
    name: str
    line: int
    bases: list[str]  # last component of each base expression (`lumen.views.View` -> `View`)
    params: list[str]  # class attributes assigned a parameter (`_is_param_object`)
    attributes: dict[str, Any]  # other class-level assignments: constants as values, anything else as ...
    abstract: bool


@dataclass
class LocalComponent:
    """One class of a local module that Lumen would treat as a component."""

    module: str  # "views"
    name: str  # "MyView"
    family: str
    type_name: str | None  # what `type:` may say; None: reachable by dotted path only
    entry: dict[str, Any]  # in the catalog's format
    line: int


@dataclass
class LocalComponents:
    """The components of the modules beside one spec."""

    components: list[LocalComponent] = field(default_factory=list)
    # Modules read (`views` -> class names), and the ones whose text could not be parsed.
    modules: dict[str, list[str]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    # Classes whose family could not be told (a base from another package): a dotted path to one is left alone.
    opaque: set[str] = field(default_factory=set)
    # `config.template` names a `template.py` class adds: after executing the modules Lumen maps every template
    # class `XTemplate` to `x` (config.py:211-213, `k[:-8].lower()`).
    templates: frozenset[str] = frozenset()

    def extend(self, cat: Catalog) -> Catalog:
        """A copy of ``cat`` that also knows these components: short ``*_type`` names of the files Lumen executes
        (a built-in name wins, as in Lumen) and ``module.Class`` dotted paths of every module read."""
        if not self.components:
            return cat
        families = {family: dict(types) for family, types in cat.families.items()}
        for component in self.components:
            types = families[component.family]
            types.setdefault(f"{component.module}.{component.name}", component.entry)
            if component.type_name is not None and component.module in LOCAL_MODULE_NAMES:
                types.setdefault(component.type_name, component.entry)
        return Catalog(
            families=families,
            components=cat.components,
            hvplot=cat.hvplot,
            optional_sources=cat.optional_sources,
            versions=cat.versions,
            panel_widgets=cat.panel_widgets,
            auth_plugins=cat.auth_plugins,
            plugins=cat.plugins,
            plugin_errors=cat.plugin_errors,
        )

    def dotted_miss(self, type_name: str, family: str) -> str | None:
        """Why ``type_name`` (``module.Class``, the module a file beside the spec) names no ``family`` component,
        or None when it does, when the module was not read, or when the class cannot be judged statically."""
        module, _, name = type_name.rpartition(".")
        if module not in self.modules or type_name in self.opaque:
            return None
        if module in self.unreadable:
            return None
        if name not in self.modules[module]:
            return f"`{module}.py` beside the spec defines no class {name!r}"
        found = next((c for c in self.components if c.module == module and c.name == name), None)
        if found is None:
            return f"class {name!r} in `{module}.py` is not a Lumen component"
        if found.family != family:
            return f"class {name!r} in `{module}.py` is a {found.family.replace('_', ' ')}, not a {family}"
        return None


def read_local_components(spec_dir: Path, dotted_modules: tuple[str, ...] = ()) -> LocalComponents:
    """Read the local modules beside a spec, plus ``dotted_modules`` (module names used in ``type: module.Class``
    paths), when the files exist. Never raises on a file's content."""
    classes: dict[str, _ClassInfo] = {}
    result = LocalComponents()
    for module in dict.fromkeys((*LOCAL_MODULE_NAMES, *dotted_modules)):
        path = spec_dir / f"{module}.py"
        if not module.isidentifier() or not path.is_file():
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError) as exc:
            result.modules[module] = []
            result.unreadable[module] = str(exc)
            continue
        infos = [_class_info(module, node) for node in tree.body if isinstance(node, ast.ClassDef)]
        result.modules[module] = [info.name for info in infos]
        if module == "template":
            result.templates = frozenset(info.name[:-8].lower() for info in infos if info.bases)
        for info in infos:
            classes[f"{module}.{info.name}"] = info
    resolver = _Resolver(classes, _builtin_classes())
    for key, info in classes.items():
        resolved = resolver.resolve(key)
        if resolved is None:
            if info.bases:
                result.opaque.add(key)
            continue
        family, entry, type_name = resolved
        if info.abstract:
            continue  # param's `concrete_descendents` leaves it out: no type of its own
        result.components.append(LocalComponent(info.module, info.name, family, type_name, entry, info.line))
    return result


def _class_info(module: str, node: ast.ClassDef) -> _ClassInfo:
    params: list[str] = []
    attributes: dict[str, Any] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            targets, value = [stmt.target.id], stmt.value
        else:
            continue
        for target in targets:
            if _is_param_object(value):
                params.append(target)
            else:
                attributes[target] = value.value if isinstance(value, ast.Constant) else ...
    return _ClassInfo(
        module=module,
        name=node.name,
        line=node.lineno,
        bases=[name for base in node.bases if (name := _last_name(base))],
        params=params,
        attributes=attributes,
        # `__abstract = True` in a class body is mangled to `_<Class>__abstract`, what param looks for.
        abstract=attributes.get("__abstract") is True,
    )


def _is_param_object(value: ast.expr) -> bool:
    """``param.String(...)``, ``param.String``, or a call of any capitalised name (``String(...)`` imported from
    param, a Parameter subclass of the module's own): a declared parameter, hence a key Lumen accepts. Reading a
    constructor call as a parameter when it is not one only leaves a key unchecked; the reverse would report a
    valid key as unknown."""
    if isinstance(value, ast.Call):
        return (_last_name(value.func) or "")[:1].isupper()
    if isinstance(value, ast.Attribute):
        root = value
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id == "param" and value.attr[:1].isupper()
    return False


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):  # Generic[...]-style bases
        return _last_name(node.value)
    return None


def _builtin_classes() -> dict[str, tuple[str, dict[str, Any], str]]:
    """Lumen's (and lumen-ext's, and plugins') concrete classes by class name -> (family, entry, type name)."""
    from lumen_ext.spec.catalog import catalog

    found: dict[str, tuple[str, dict[str, Any], str]] = {}
    for family, types in catalog().families.items():
        for type_name, entry in types.items():
            name = entry["class"].rsplit(".", 1)[-1]
            # Prefer the short name over the dotted spelling of the same class.
            if name not in found or "." in found[name][2]:
                found[name] = (family, entry, type_name)
    return found


def _family_base_entry(family: str) -> dict[str, Any]:
    """What every concrete component of ``family`` accepts: the keys of the abstract base (its params and
    Lumen's legacy keys), i.e. the fields all built-in types share. Views are key-checked only through their
    ``_panel_type`` (lumen/views/base.py ``_valid_keys_``), which the abstract bases lack."""
    from lumen_ext.spec.catalog import catalog

    entries = [e for name, e in catalog(plugins=False).families[family].items() if "." not in name]
    shared = set.intersection(*(set(e["fields"]) for e in entries))
    fields = {key: entries[0]["fields"][key] for key in sorted(shared)}
    return {
        "class": family,
        "doc": None,
        "keys_checked": family != "view",
        "allows_refs": True,
        "required": [],
        "fields": fields,
    }


class _Resolver:
    """Each local class's family, catalog entry and type name, following its bases through the local modules
    (a class may extend one defined in another local module) down to Lumen's classes."""

    def __init__(self, classes: dict[str, _ClassInfo], builtins: dict[str, tuple[str, dict[str, Any], str]]):
        self.classes = classes
        self.builtins = builtins
        self.done: dict[str, tuple[str, dict[str, Any], str | None] | None] = {}

    def resolve(
        self, key: str, visiting: frozenset[str] = frozenset()
    ) -> tuple[str, dict, str | None] | None:
        if key in self.done:
            return self.done[key]
        if key in visiting:  # a cycle of bases: Python itself would fail on it
            return None
        info = self.classes[key]
        inherited = None
        for base in info.bases:
            inherited = self._base(info.module, base, visiting | {key})
            if inherited is not None:
                break
        result = None
        if inherited is not None:
            family, base_entry, base_type = inherited
            result = (family, self._entry(info, family, base_entry), self._type_name(info, family, base_type))
        self.done[key] = result
        return result

    def _base(self, module: str, name: str, visiting: frozenset[str]) -> tuple[str, dict, str | None] | None:
        # A class of the same module first, then of the other local modules (they may import each other).
        same = f"{module}.{name}"
        others = [k for k in self.classes if k.endswith(f".{name}") and k != same]
        for key in [same, *others]:
            if key in self.classes:
                return self.resolve(key, visiting)
        if name in self.builtins:
            family, entry, type_name = self.builtins[name]
            # A class listed by its dotted path has no `*_type` of its own, nor do its subclasses.
            return family, entry, None if "." in type_name else type_name
        if name in ABSTRACT_BASES:
            family = ABSTRACT_BASES[name]
            return family, _family_base_entry(family), None
        return None

    def _entry(self, info: _ClassInfo, family: str, base_entry: dict[str, Any]) -> dict[str, Any]:
        fields = dict(base_entry["fields"])
        for name in info.params:
            fields[name] = {"t": "any", "doc": f"declared in {info.module}.py"}
        keys_checked = base_entry["keys_checked"]
        # Keys that run-time code decides: the view's Panel object, or a component's own `_valid_keys`.
        if "_panel_type" in info.attributes and family == "view":
            keys_checked = False
        if "_valid_keys" in info.attributes and info.attributes["_valid_keys"] != "params":
            keys_checked = False
        return {
            "class": f"local_lumen.{info.module}.{info.name}",
            "doc": None,
            "keys_checked": keys_checked,
            "allows_refs": True,
            "required": [r for r in base_entry.get("required", []) if r in fields],
            "fields": fields,
        }

    def _type_name(self, info: _ClassInfo, family: str, inherited: str | None) -> str | None:
        value = info.attributes.get(TYPE_ATTRIBUTES[family], inherited)
        if value is ... or (value is not None and not isinstance(value, str)):
            return None  # computed at run time: only the dotted path is known
        return value


def dotted_modules(text: str) -> tuple[str, ...]:
    """Module names of the ``type: module.Class`` paths in a spec's text, in order of first use."""
    return tuple(dict.fromkeys(m.group(1) for m in _DOTTED_TYPE.finditer(text)))
