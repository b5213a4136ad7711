"""The fast schema checker behind ``lumen_ext.spec.check``.

It walks the spec the way Lumen's ``Component.validate`` does (dashboard -> config, variables, sources,
pipelines, layouts -> views, filters, transforms) but collects every issue instead of stopping at the first, and
interprets the type descriptors of ``_lumen_components.json`` directly. That keeps it free of pydantic's import
cost (~0.1 s, most of the validator's budget); ``tests/spec/test_models.py`` checks that it and the pydantic models
accept and reject the same specs.

The checks of Lumen's structural shapes (filters, defaults, grids, templates, hvPlot options) are in
:mod:`~lumen_ext.spec.shape_checks`, the wording of messages in :mod:`~lumen_ext.spec.checker_messages`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import TYPE_CHECKING, Any

from lumen_ext.spec import SchemaIssue
from lumen_ext.spec.build_checks import BuildChecks
from lumen_ext.spec.catalog import FAMILY_TITLES, Catalog, catalog
from lumen_ext.spec.checker_messages import (
    bounds_problem,
    describe_expected,
    kind_name,
    suggest,
    valid_keys_hint,
)
from lumen_ext.spec.deferred_values import is_deferred, is_ref
from lumen_ext.spec.shape_checks import Path, ShapeChecks

if TYPE_CHECKING:
    from lumen_ext.spec.local_components import LocalComponents


class Checker(ShapeChecks, BuildChecks):
    def __init__(self, cat: Catalog, local: LocalComponents | None = None):
        self.cat = cat
        self.local = local
        self.build_issues: list[SchemaIssue] = []
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
            self.emit((), "invalid-type", f"A dashboard spec must be a mapping, not {kind_name(spec)}")
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
        self.auth_plugins(spec.get("auth"))
        self.download_defaults(spec.get("defaults"))

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
            self.emit(path, "invalid-type", f"{label} must be a mapping, not {kind_name(spec)}")
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
                        hint=suggest(key, list(fields)) or valid_keys_hint(fields),
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
            before = len(self.issues)
            self.value(value, desc, kpath, f"{label} key {key!r}", allows_refs)
            if not typed and not allows_refs and len(self.issues) == before:
                self.reference_refused(value, kpath, f"{label} key {key!r}")
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
            self.emit(path, "invalid-type", f"{title}{where} must be a mapping, not {kind_name(spec)}")
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
                tpath, "invalid-type", f"{title}{where} 'type' must be a string, not {kind_name(type_name)}"
            )
            return
        entry = self.cat.families[family].get(type_name)
        if entry is None:
            if (
                "." in type_name
                and self.local is not None
                and (miss := self.local.dotted_miss(type_name, family))
            ):
                self.emit(
                    tpath, "unknown-type", f"{title}{where} declares unknown type {type_name!r}: {miss}"
                )
                return
            if "." in type_name or (family == "source" and type_name in self.cat.optional_sources):
                # A dotted path to a user class, or an optional back-end: Lumen imports it; nothing to check.
                return
            if is_deferred(type_name):
                return
            self.emit(
                tpath,
                "unknown-type",
                f"{title}{where} declares unknown type {type_name!r}",
                hint=suggest(type_name, self.cat.short_types(family), synonyms=True)
                or "one of: " + ", ".join(self.cat.short_types(family)),
            )
            return
        label = f"{self.cat.class_name(entry)}{where}"
        self.component(
            spec, path, entry, label, hvplot=family == "view" and type_name == "hvplot", typed=True
        )
        self.after_typed(spec, path, family, type_name, label)

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
                return self.wrong_type(value, desc, label)
            return None
        if t in ("int", "num"):
            ok = isinstance(value, int) if t == "int" else isinstance(value, int | float)
            if isinstance(value, bool) or not ok:
                return self.wrong_type(value, desc, label)
            return bounds_problem(value, desc, label)
        if t == "bool":
            return None if isinstance(value, bool) else self.wrong_type(value, desc, label)
        if t == "date":
            ok = isinstance(value, str | dt.date | dt.datetime | int | float) and not isinstance(value, bool)
            return None if ok else self.wrong_type(value, desc, label)
        if t == "enum":
            if (value in desc["values"] and not isinstance(value, bool)) or (
                isinstance(value, bool) and any(v is value for v in desc["values"])
            ):
                return None
            choices = [v for v in desc["values"] if v is not None]
            hint = suggest(value, [str(c) for c in choices], synonyms=True) or "one of: " + ", ".join(
                repr(c) for c in choices
            )
            return ("invalid-value", f"{label} got {value!r}, which is not a valid choice", hint)
        if t == "list":
            if not isinstance(value, list):
                return self.wrong_type(value, desc, label)
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
                return self.wrong_type(value, desc, label)
            length = desc.get("length")
            if length is not None and len(value) != length:
                return ("invalid-value", f"{label} needs exactly {length} items, got {len(value)}", None)
            return None
        if t == "dict":
            return None if isinstance(value, dict) else self.wrong_type(value, desc, label)
        if t == "callable":
            if not isinstance(value, str):
                return self.wrong_type(value, desc, label)
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
            return self.wrong_type(value, desc, label)
        if t == "filters":
            return self.filters(value, path, label)
        if t == "grid":
            return self.grid(value, desc, path, label)
        if t == "template":
            return self.template(value, desc, path, label)
        if t == "download":
            if isinstance(value, str):
                self.download_format(value, path, desc["family"], label)
                return None
            if isinstance(value, dict):
                self.component(value, path, self.cat.components[desc["family"]], "Download")
                return None
            return self.wrong_type(value, desc, label)
        return None

    def wrong_type(self, value: Any, desc: dict[str, Any], label: str) -> tuple[str, str, str | None]:
        hint = None
        if isinstance(value, dict) and desc["t"] in ("list", "components"):
            hint = "a missing '-' in the YAML turns a list into a mapping"
        return ("invalid-type", f"{label} expects {describe_expected(desc)}, got {kind_name(value)}", hint)

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
        return ("invalid-type", f"{label} expects {describe_expected(desc)}, got {kind_name(value)}", None)


def check_spec(
    spec: Any, local: LocalComponents | None = None
) -> tuple[list[SchemaIssue], list[SchemaIssue]]:
    """The spec grammar's issues, and those of the build checks (`build_checks`)."""
    checker = Checker(local.extend(catalog()) if local is not None else catalog(), local)
    try:
        checker.dashboard(spec)
    except RecursionError:
        checker.emit((), "invalid-value", "The spec is nested too deeply to check")
    return checker.issues, checker.build_issues
