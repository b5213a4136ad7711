"""The schema checker's checks of Lumen's structural shapes: components by name or inline, filters, defaults,
layout grids, templates, and hvPlot's free-form options.

A mixin of :class:`lumen_ext.spec._checker.Checker`, which supplies ``cat``, ``emit``, ``component``, ``typed``
and ``wrong_type``; kept apart because these are the shapes Lumen's own hooks accept, while the checker proper
interprets the generated type descriptors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lumen_ext.spec.catalog import FAMILY_TITLES
from lumen_ext.spec.checker_messages import kind_name, suggest

if TYPE_CHECKING:
    from lumen_ext.spec.catalog import Catalog
    from lumen_ext.spec.local_components import LocalComponents

__all__ = ["ShapeChecks"]

# A place in the spec: keys and list positions from the top.
Path = tuple[str | int, ...]


class ShapeChecks:
    cat: Catalog
    local: LocalComponents | None

    def fixed_or_typed(
        self, value: Any, family: str, path: Path, label: str, name: str | None = None
    ) -> None:
        if family in FAMILY_TITLES:
            self.typed(value, path, family, name)
        else:
            entry = self.cat.components[family]
            title = self.cat.class_name(entry)
            self.component(value, path, entry, f"{title} {name!r}" if name is not None else title)

    def components(
        self, value: Any, desc: dict[str, Any], path: Path, label: str
    ) -> tuple[str, str, str | None] | None:
        shape, family = desc["shape"], desc["family"]
        if isinstance(value, dict) and shape in ("dict", "list_or_dict"):
            previous = None
            for name, item in value.items():
                if family == "variable" and not isinstance(item, dict):
                    continue  # `name: <value>` is a constant variable (Variables.from_spec)
                if not self._dedented_key(name, item, family, (*path, name), previous):
                    self.fixed_or_typed(item, family, (*path, name), label, name=str(name))
                previous = name
            return None
        if isinstance(value, list) and shape in ("list", "list_or_dict"):
            for i, item in enumerate(value):
                if isinstance(item, str) and family == "view":
                    continue  # View.validate passes a string through unchanged
                name = item.get("name") if isinstance(item, dict) and family == "layout" else None
                name = item.get("title") if isinstance(item, dict) and family == "layout" else name
                self.fixed_or_typed(
                    item, family, (*path, i), label, name=name if isinstance(name, str) else None
                )
            return None
        if value is None:
            return None
        return self.wrong_type(value, desc, label)

    def _dedented_key(self, name: Any, item: Any, family: str, path: Path, previous: Any) -> bool:
        """Report a key of a component dedented to the level of the component names, if that is what it looks like.

        `filters:` indented like the pipeline names reads as a pipeline *named* `filters` whose spec is a list:
        "Pipeline 'filters' must be a mapping" is true but misleading. When the name is one of the family's own
        keys and its value is not a mapping, say what YAML read and suggest the indentation instead.
        """
        if not isinstance(name, str) or name not in self.cat.keys(family):
            return False
        typed = family in FAMILY_TITLES
        if isinstance(item, dict) and not (typed and "type" not in item):
            return False
        title = FAMILY_TITLES[family] if typed else self.cat.class_name(self.cat.components[family])
        owner = (
            f"{title.lower()} {previous!r}" if previous is not None else f"the {title.lower()} it belongs to"
        )
        # A source's `tables:` dedented is a mapping without `type:`; a pipeline's `filters:` a list.
        problem = (
            "does not declare a 'type'"
            if isinstance(item, dict)
            else f"must be a mapping, not {kind_name(item)}"
        )
        self.emit(
            path,
            "missing-key" if isinstance(item, dict) else "invalid-type",
            f"{title} {name!r} {problem}: YAML read a {title.lower()} named "
            f"{name!r} because `{name}:` is indented like the {title.lower()} names",
            hint=f"{name!r} is a {title.lower()} key: indent `{name}:` and the lines under it one level deeper, "
            f"under {owner}",
            target="key",
        )
        return True

    def filters(self, value: Any, path: Path, label: str) -> tuple[str, str, str | None] | None:
        if value == "auto":
            return None
        if isinstance(value, str):
            return ("invalid-value", f"{label} must be a list, a mapping or 'auto', got {value!r}", None)
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else None
        )
        if items is None:
            return (
                "invalid-type",
                f"{label} expects a list, a mapping or 'auto', got {kind_name(value)}",
                None,
            )
        for key, item in items:
            if isinstance(item, str):
                continue  # the name of a filter declared on the (legacy) source
            self.typed(item, (*path, key), "filter", key if isinstance(key, str) else None)
        return None

    def defaults(self, value: Any, family: str, path: Path, label: str) -> tuple[str, str, str | None] | None:
        if not isinstance(value, list):
            return (
                "invalid-type",
                f"{label} expects a list of {{type: ..., <param>: ...}}, got {kind_name(value)}",
                None,
            )
        title = FAMILY_TITLES[family]
        for i, item in enumerate(value):
            ipath = (*path, i)
            if not isinstance(item, dict):
                self.emit(ipath, "invalid-type", f"{label} item {i} must be a mapping, not {kind_name(item)}")
                continue
            if "type" not in item:
                self.emit(
                    ipath,
                    "missing-key",
                    f"{title} defaults entry does not declare a 'type'",
                    target="mapping",
                )
                continue
            type_name = item["type"]
            entry = self.cat.families[family].get(type_name) if isinstance(type_name, str) else None
            if entry is None:
                if isinstance(type_name, str) and "." in type_name:
                    continue
                self.emit(
                    (*ipath, "type"),
                    "unknown-type",
                    f"{title} defaults declare unknown type {type_name!r}",
                    hint=suggest(type_name, self.cat.short_types(family), synonyms=True),
                )
                continue
            # Defaults set class params, so every param is a valid key even where specs are not key-checked.
            strict = dict(entry, keys_checked=True)
            self.component(item, ipath, strict, f"Defaults for {self.cat.class_name(entry)}", typed=True)
        return None

    def grid(
        self, value: Any, desc: dict[str, Any], path: Path, label: str
    ) -> tuple[str, str, str | None] | None:
        if isinstance(value, str):
            if value in desc["values"]:
                return None
            hint = suggest(value, desc["values"]) or "one of: " + ", ".join(map(repr, desc["values"]))
            return ("invalid-value", f"{label} got {value!r}, which is not a layout", hint)
        if isinstance(value, dict):
            if "type" not in value:
                return ("invalid-value", f"{label} mapping must name the layout 'type'", None)
            inner = value["type"]
            if isinstance(inner, str) and inner not in desc["values"] and "." not in inner:
                hint = suggest(inner, desc["values"]) or "one of: " + ", ".join(map(repr, desc["values"]))
                self.emit(
                    (*path, "type"), "invalid-value", f"{label} type {inner!r} is not a layout", hint=hint
                )
            return None
        if isinstance(value, list):
            self._grid_items(value, path, label)
            return None
        return (
            "invalid-type",
            f"{label} expects a layout name, a mapping or nested lists of views, got {kind_name(value)}",
            None,
        )

    def _grid_items(self, items: list[Any], path: Path, label: str) -> None:
        for i, item in enumerate(items):
            if isinstance(item, list):
                self._grid_items(item, (*path, i), label)
            elif isinstance(item, bool) or not isinstance(item, int | str):
                self.emit(
                    (*path, i),
                    "invalid-type",
                    f"{label} grid entries must be view indices or names, got {kind_name(item)}",
                )

    def template(
        self, value: Any, desc: dict[str, Any], path: Path, label: str
    ) -> tuple[str, str, str | None] | None:
        name, npath = value, path
        if isinstance(value, dict):
            name, npath = value.get("type", None), (*path, "type")
            if name is None:
                return None  # Lumen falls back to the material template
        if not isinstance(name, str):
            return (
                "invalid-type",
                f"{label} expects a template name, a dotted path or a mapping, got {kind_name(value)}",
                None,
            )
        local = self.local.templates if self.local is not None else frozenset()
        if name in desc["values"] or "." in name or name in local:
            return None
        hint = suggest(name, desc["values"]) or "one of: " + ", ".join(map(repr, desc["values"]))
        self.emit(npath, "invalid-value", f"{label} names unknown template {name!r}", hint=hint)
        return None

    # -- hvPlot ------------------------------------------------------------------------------------------

    def hvplot_option(self, spec: dict[str, Any], key: Any, path: Path, label: str) -> None:
        opts = self.cat.hvplot
        kind = spec.get("kind", "line")
        if not isinstance(key, str):
            # Lumen passes the options to hvPlot as keyword arguments: a key that is not a string fails the call.
            self.emit(
                path, "invalid-value", f"{label} option names must be strings, got {key!r}", target="key"
            )
            return
        if isinstance(kind, str) and kind in opts["per_kind"]:
            valid = set(opts["common"]) | set(opts["per_kind"][kind])
        else:
            # A referenced or invalid kind: accept what any kind accepts (the kind itself is reported).
            valid = set(opts["common"]).union(*opts["per_kind"].values())
        if key in valid:
            return
        other_kinds = sorted(k for k, o in opts["per_kind"].items() if key in o)
        candidates = sorted(valid | set(self.cat.families["view"]["hvplot"]["fields"]))
        hint = suggest(key, candidates)
        if other_kinds:
            message = f"{label} option {key!r} is not valid for kind {kind!r}"
            hint = hint or f"{key!r} applies to kind " + ", ".join(map(repr, other_kinds))
        else:
            message = f"{label} has no option {key!r} (hvPlot would ignore it)"
        # A warning, as hvPlot gives one: Lumen serves the view (the option has no effect), so lumen-ext does too.
        self.emit(path, "unknown-option", message, hint=hint, severity="warning", target="key")
