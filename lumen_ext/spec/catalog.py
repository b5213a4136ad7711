"""The catalog of component descriptions: Lumen's built-ins and lumen-ext's own (generated) plus plugins.

Lumen's built-ins and lumen-ext's own components (e.g. the ``dask`` source) come from ``_lumen_components.json``
(see ``generate.py`` for the descriptor format). Third-party ones (entry-point group ``lumen_ext.components``) are
merged on top by ``lumen_ext.spec.registry``. Nothing here imports Lumen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("_lumen_components.json")

# Family -> the Lumen base class name, used in messages ("Source component ... unknown type").
FAMILY_TITLES = {
    "source": "Source",
    "transform": "Transform",
    "sql_transform": "SQLTransform",
    "filter": "Filter",
    "view": "View",
    "variable": "Variable",
}

# Families whose `type:` selects a class (discriminated unions); the rest are fixed components.
FAMILIES = tuple(FAMILY_TITLES)


@dataclass
class Catalog:
    families: dict[str, dict[str, Any]]  # family -> type name -> component entry
    components: dict[str, dict[str, Any]]  # dashboard, config, pipeline, layout, ... -> entry
    hvplot: dict[str, Any]
    optional_sources: dict[str, str]
    versions: dict[str, str]
    panel_widgets: frozenset[str] = frozenset()  # what a widget variable's `kind:` may name without a dot
    auth_plugins: dict[str, list[str]] = field(default_factory=dict)  # `auth.plugins` type -> its keys
    plugins: dict[str, str] = field(default_factory=dict)  # "family:type" -> distribution/origin
    plugin_errors: list[str] = field(default_factory=list)
    _keys: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def keys(self, family: str) -> frozenset[str]:
        """Every key a component of ``family`` takes (of any of its types, ``type`` included), computed once."""
        if family not in self._keys:
            if family in FAMILY_TITLES:
                fields = (entry["fields"] for entry in self.families[family].values())
                self._keys[family] = frozenset({"type"}.union(*fields))
            else:
                self._keys[family] = frozenset(self.components[family]["fields"])
        return self._keys[family]

    def short_types(self, family: str) -> list[str]:
        """Type names a user would write (dotted-path-only classes are left out of suggestions)."""
        return [name for name in self.families[family] if "." not in name]

    def class_name(self, entry: dict[str, Any]) -> str:
        return entry["class"].rsplit(".", 1)[-1]


# Set by the generator while it renders the schema from data it has not written yet (`--check`).
_data_override: dict[str, Any] | None = None


def load_builtin() -> dict[str, Any]:
    if _data_override is not None:
        return _data_override
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@cache
def catalog(plugins: bool = True) -> Catalog:
    """The merged catalog, built once per process. ``plugins=False`` leaves entry-point components out (the
    committed JSON Schema describes Lumen and lumen-ext only, whatever happens to be installed)."""
    from lumen_ext.spec import registry

    data = load_builtin()
    cat = Catalog(
        families={family: dict(info["types"]) for family, info in data["families"].items()},
        components=dict(data["components"]),
        hvplot=data["hvplot"],
        optional_sources=data["optional_sources"],
        versions=data["versions"],
        panel_widgets=frozenset(data["panel_widgets"]),
        auth_plugins=data["auth_plugins"],
    )
    registry.merge_into(cat, plugins=plugins)
    return cat
