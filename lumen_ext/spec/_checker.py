"""The fast schema checker behind ``lumen_ext.spec.check``.

It walks the spec the way Lumen's ``Component.validate`` does (dashboard -> config, variables, sources,
pipelines, layouts -> views, filters, transforms) but collects every issue instead of stopping at the first, and
interprets the type descriptors of ``_lumen_components.json`` directly. That keeps it free of pydantic's import
cost (~0.1 s, most of the validator's budget); ``tests/spec/test_models.py`` checks that it and the pydantic models
accept and reject the same specs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any

from lumen_ext.spec import SchemaIssue
from lumen_ext.spec.catalog import FAMILY_TITLES, Catalog, catalog

Path = tuple[str | int, ...]

# Lumen's reference test (util.py:564-570): a string that starts with `$` or mentions `$variables.<ident>`.
_VARIABLE_REF = re.compile(r"\$variables\.[a-zA-Z_]\w*")


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("$") or bool(_VARIABLE_REF.search(value)))


def is_deferred(value: Any) -> bool:
    """Text Lumen expands before it validates: Jinja (`{{ }}`/`{% %}`) and `${...}` URL templates."""
    return isinstance(value, str) and ("{{" in value or "{%" in value or "${" in value)


def suggest(word: Any, candidates: list[str]) -> str | None:
    if not isinstance(word, str) or not candidates:
        return None
    matches = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


_EXPECT = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "a boolean (true/false)",
    "date": "a date",
    "list": "a list",
    "tuple": "a list",
    "dict": "a mapping",
    "callable": "a dotted path to a callable",
    "component": "a mapping",
    "components": "a list",
    "defaults": "a list",
    "template": "a template name or mapping",
    "download": "a format name or mapping",
    "grid": "a layout name, mapping or nested list",
    "ref_or_spec": "a name or mapping",
    "filters": "a list, mapping or 'auto'",
}


def _describe_expected(desc: dict[str, Any]) -> str:
    t = desc["t"]
    if t == "union":
        return " or ".join(dict.fromkeys(_describe_expected(d) for d in desc["of"]))
    if t == "enum":
        return "one of " + ", ".join(repr(v) for v in desc["values"])
    if t == "components":
        return {"dict": "a mapping", "list": "a list", "list_or_dict": "a list or mapping"}[desc["shape"]]
    return _EXPECT.get(t, "a value")


class Checker:
    def __init__(self, cat: Catalog):
        self.cat = cat
        self.issues: list[SchemaIssue] = []
        self._seen: set[tuple[Any, ...]] = set()

    # -- reporting ---------------------------------------------------------------------------------------

    def emit(
        self,
        path: Path,
        rule: str,
        message: str,
        hint: str | None = None,
        severity: str = "error",
        target: str = "value",
    ) -> None:
        key = (path, rule, target, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.issues.append(SchemaIssue(path, rule, message, hint, severity, target))

    # -- top level ---------------------------------------------------------------------------------------

    def dashboard(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            self.emit((), "invalid-type", f"A dashboard spec must be a mapping, not {_kind_name(spec)}")
            return
        if "targets" in spec and "layouts" in spec:
            self.emit(
                ("targets",),
                "unknown-key",
                "Dashboard declares both 'layouts' and the legacy 'targets'; Lumen would drop 'layouts'",
                hint="move the entries of 'targets' into 'layouts'",
                target="key",
            )
        self.component(spec, (), self.cat.components["dashboard"], "Dashboard")

    # -- components --------------------------------------------------------------------------------------

    def component(
        self,
        spec: Any,
        path: Path,
        entry: dict[str, Any],
        label: str,
        hvplot: bool = False,
        typed: bool = False,
    ) -> None:
        """Check a mapping against one component description."""
        if not isinstance(spec, dict):
            self.emit(path, "invalid-type", f"{label} must be a mapping, not {_kind_name(spec)}")
            return
        fields = entry["fields"]
        allows_refs = entry.get("allows_refs", True)
        for key, value in spec.items():
            kpath = (*path, key)
            if key == "type" and typed:
                continue  # already resolved by `typed()`
            desc = fields.get(key) if isinstance(key, str) else None
            if desc is None:
                if hvplot:
                    self.hvplot_option(spec, key, kpath, label)
                elif entry["keys_checked"]:
                    self.emit(
                        kpath,
                        "unknown-key",
                        f"{label} has no key {key!r}",
                        hint=suggest(key, list(fields)) or _valid_list(fields),
                        target="key",
                    )
                continue
            if "deprecated" in desc:
                self.emit(
                    kpath,
                    "deprecated-key",
                    f"{label} key {key!r} is deprecated",
                    hint=desc["deprecated"],
                    severity="warning",
                    target="key",
                )
            self.value(value, desc, kpath, f"{label} key {key!r}", allows_refs)
        for required in entry.get("required", []):
            self.required(spec, path, required, label)

    def required(self, spec: dict[str, Any], path: Path, required: str | list[str], label: str) -> None:
        options = [required] if isinstance(required, str) else list(required)
        if any(o in spec for o in options):
            return
        wanted = " or ".join(repr(o) for o in options)
        hint = None
        for option in options:
            near = difflib.get_close_matches(option, [k for k in spec if isinstance(k, str)], n=1, cutoff=0.6)
            if near:
                hint = f"rename {near[0]!r} to {option!r}?"
                break
        self.emit(path, "missing-key", f"{label} requires {wanted}", hint=hint, target="mapping")

    def typed(self, spec: Any, path: Path, family: str, name: str | None = None) -> None:
        """Check a spec whose `type:` selects the component class (a source, view, filter, ...)."""
        title = FAMILY_TITLES[family]
        where = f" {name!r}" if name is not None else ""
        if not isinstance(spec, dict):
            self.emit(path, "invalid-type", f"{title}{where} must be a mapping, not {_kind_name(spec)}")
            return
        if "type" not in spec:
            self.emit(
                path,
                "missing-key",
                f"{title}{where} does not declare a 'type'",
                hint="one of: " + ", ".join(self.cat.short_types(family)),
                target="mapping",
            )
            return
        type_name = spec["type"]
        tpath = (*path, "type")
        if not isinstance(type_name, str):
            self.emit(
                tpath, "invalid-type", f"{title}{where} 'type' must be a string, not {_kind_name(type_name)}"
            )
            return
        entry = self.cat.families[family].get(type_name)
        if entry is None:
            if "." in type_name or (family == "source" and type_name in self.cat.optional_sources):
                # A dotted path to a user class, or an optional back-end: Lumen imports it; nothing to check.
                return
            if is_deferred(type_name):
                return
            self.emit(
                tpath,
                "unknown-type",
                f"{title}{where} declares unknown type {type_name!r}",
                hint=suggest(type_name, self.cat.short_types(family))
                or "one of: " + ", ".join(self.cat.short_types(family)),
            )
            return
        label = f"{self.cat.class_name(entry)}{where}"
        self.component(
            spec, path, entry, label, hvplot=family == "view" and type_name == "hvplot", typed=True
        )

    # -- values ------------------------------------------------------------------------------------------

    def value(
        self, value: Any, desc: dict[str, Any], path: Path, label: str, allows_refs: bool = True
    ) -> None:
        if is_deferred(value):
            return
        if allows_refs and (is_ref(value) or (isinstance(value, str) and value.startswith("@"))):
            return
        if value is None and (desc.get("null") or desc["t"] == "any"):
            return
        problem = self._problem(value, desc, path, label, allows_refs)
        if problem is not None:
            rule, message, hint = problem
            self.emit(path, rule, message, hint=hint)

    def _problem(
        self, value: Any, desc: dict[str, Any], path: Path, label: str, allows_refs: bool
    ) -> tuple[str, str, str | None] | None:
        """Check `value`; return a single (rule, message, hint) for this node, or None (nested issues emitted)."""
        t = desc["t"]
        if t == "any":
            return None
        if t == "str":
            if not isinstance(value, str):
                return self._wrong(value, desc, label)
            return None
        if t in ("int", "num"):
            ok = isinstance(value, int) if t == "int" else isinstance(value, int | float)
            if isinstance(value, bool) or not ok:
                return self._wrong(value, desc, label)
            return _bounds(value, desc, label)
        if t == "bool":
            return None if isinstance(value, bool) else self._wrong(value, desc, label)
        if t == "date":
            ok = isinstance(value, str | dt.date | dt.datetime | int | float) and not isinstance(value, bool)
            return None if ok else self._wrong(value, desc, label)
        if t == "enum":
            if (value in desc["values"] and not isinstance(value, bool)) or (
                isinstance(value, bool) and any(v is value for v in desc["values"])
            ):
                return None
            choices = [v for v in desc["values"] if v is not None]
            hint = suggest(value, [str(c) for c in choices]) or "one of: " + ", ".join(
                repr(c) for c in choices
            )
            return ("invalid-value", f"{label} got {value!r}, which is not a valid choice", hint)
        if t == "list":
            if not isinstance(value, list):
                return self._wrong(value, desc, label)
            if "min" in desc and desc["min"] is not None and len(value) < desc["min"]:
                return (
                    "invalid-value",
                    f"{label} needs at least {desc['min']} items, got {len(value)}",
                    None,
                )
            if "max" in desc and desc["max"] is not None and len(value) > desc["max"]:
                return ("invalid-value", f"{label} takes at most {desc['max']} items, got {len(value)}", None)
            if "items" in desc:
                for i, item in enumerate(value):
                    self.value(item, desc["items"], (*path, i), f"{label} item {i}", allows_refs)
            return None
        if t == "tuple":
            if not isinstance(value, list | tuple):
                return self._wrong(value, desc, label)
            length = desc.get("length")
            if length is not None and len(value) != length:
                return ("invalid-value", f"{label} needs exactly {length} items, got {len(value)}", None)
            return None
        if t == "dict":
            return None if isinstance(value, dict) else self._wrong(value, desc, label)
        if t == "callable":
            if not isinstance(value, str):
                return self._wrong(value, desc, label)
            if "." not in value:
                return (
                    "invalid-value",
                    f"{label} must be a dotted path such as 'my_module.my_function'",
                    None,
                )
            return None
        if t == "union":
            return self._union(value, desc, path, label, allows_refs)
        if t == "component":
            self.fixed_or_typed(value, desc["family"], path, label)
            return None
        if t == "components":
            return self.components(value, desc, path, label)
        if t == "defaults":
            return self.defaults(value, desc["family"], path, label)
        if t == "ref_or_spec":
            if isinstance(value, str):
                return None
            if isinstance(value, dict):
                self.fixed_or_typed(value, desc["family"], path, label)
                return None
            return self._wrong(value, desc, label)
        if t == "filters":
            return self.filters(value, path, label)
        if t == "grid":
            return self.grid(value, desc, path, label)
        if t == "template":
            return self.template(value, desc, path, label)
        if t == "download":
            if isinstance(value, str):
                return None
            if isinstance(value, dict):
                self.component(value, path, self.cat.components[desc["family"]], "Download")
                return None
            return self._wrong(value, desc, label)
        return None

    def _wrong(self, value: Any, desc: dict[str, Any], label: str) -> tuple[str, str, str | None]:
        hint = None
        if isinstance(value, dict) and desc["t"] in ("list", "components"):
            hint = "a missing '-' in the YAML turns a list into a mapping"
        return ("invalid-type", f"{label} expects {_describe_expected(desc)}, got {_kind_name(value)}", hint)

    def _union(
        self, value: Any, desc: dict[str, Any], path: Path, label: str, allows_refs: bool
    ) -> tuple[str, str, str | None] | None:
        attempts = []
        for option in desc["of"]:
            probe = Checker(self.cat)
            problem = probe._problem(value, option, path, label, allows_refs)
            if problem is None and not probe.issues:
                return None
            attempts.append((option, problem, probe.issues))
        # Report the branch whose shape matches the value (e.g. the list branch for a list), if exactly one does.
        shaped = [a for a in attempts if a[1] is None or a[1][0] != "invalid-type"]
        if len(shaped) == 1:
            _, problem, nested = shaped[0]
            for issue in nested:
                self.emit(issue.path, issue.rule, issue.message, issue.hint, issue.severity, issue.target)
            return problem
        return ("invalid-type", f"{label} expects {_describe_expected(desc)}, got {_kind_name(value)}", None)

    # -- structural shapes ------------------------------------------------------------------------------

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
            for name, item in value.items():
                if family == "variable" and not isinstance(item, dict):
                    continue  # `name: <value>` is a constant variable (Variables.from_spec)
                self.fixed_or_typed(item, family, (*path, name), label, name=str(name))
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
        return self._wrong(value, desc, label)

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
                f"{label} expects a list, a mapping or 'auto', got {_kind_name(value)}",
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
                f"{label} expects a list of {{type: ..., <param>: ...}}, got {_kind_name(value)}",
                None,
            )
        title = FAMILY_TITLES[family]
        for i, item in enumerate(value):
            ipath = (*path, i)
            if not isinstance(item, dict):
                self.emit(
                    ipath, "invalid-type", f"{label} item {i} must be a mapping, not {_kind_name(item)}"
                )
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
                    hint=suggest(type_name, self.cat.short_types(family)),
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
            f"{label} expects a layout name, a mapping or nested lists of views, got {_kind_name(value)}",
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
                    f"{label} grid entries must be view indices or names, got {_kind_name(item)}",
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
                f"{label} expects a template name, a dotted path or a mapping, got {_kind_name(value)}",
                None,
            )
        if name in desc["values"] or "." in name:
            return None
        hint = suggest(name, desc["values"]) or "one of: " + ", ".join(map(repr, desc["values"]))
        self.emit(npath, "invalid-value", f"{label} names unknown template {name!r}", hint=hint)
        return None

    # -- hvPlot ------------------------------------------------------------------------------------------

    def hvplot_option(self, spec: dict[str, Any], key: Any, path: Path, label: str) -> None:
        opts = self.cat.hvplot
        kind = spec.get("kind", "line")
        if not isinstance(key, str):
            self.emit(
                path, "unknown-option", f"{label} option names must be strings, got {key!r}", target="key"
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
        self.emit(path, "unknown-option", message, hint=hint, target="key")


def _bounds(value: float, desc: dict[str, Any], label: str) -> tuple[str, str, str | None] | None:
    lo, hi = desc.get("min"), desc.get("max")
    xlo, xhi = desc.get("xmin"), desc.get("xmax")
    if lo is not None and value < lo:
        return ("invalid-value", f"{label} must be at least {lo}, got {value!r}", None)
    if hi is not None and value > hi:
        return ("invalid-value", f"{label} must be at most {hi}, got {value!r}", None)
    if xlo is not None and value <= xlo:
        return ("invalid-value", f"{label} must be greater than {xlo}, got {value!r}", None)
    if xhi is not None and value >= xhi:
        return ("invalid-value", f"{label} must be less than {xhi}, got {value!r}", None)
    return None


def _valid_list(fields: dict[str, Any]) -> str:
    names = [k for k, d in fields.items() if "deprecated" not in d and not d.get("legacy")]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"valid keys: {shown}"


def check_spec(spec: Any) -> list[SchemaIssue]:
    checker = Checker(catalog())
    try:
        checker.dashboard(spec)
    except RecursionError:
        checker.emit((), "invalid-value", "The spec is nested too deeply to check")
    return checker.issues
