"""Checks of values whose problem Lumen 1.4 finds only while building the dashboard, or in a hook its declarations
do not describe: a widget ``kind`` Panel does not have, an ``auth.plugins`` type, ``bins`` that are not pairs, an
``aggregate`` without ``by``, download formats, references where Lumen refuses them.

A mixin of :class:`lumen_ext.spec._checker.Checker` (``cat``, ``component``); each check is named after the place
in Lumen that fails, so a Lumen upgrade that changes it is easy to find. Its issues are kept apart from the spec
grammar's (``build_issues``, reported by ``lumen_ext.spec.check_all``): the JSON Schema and the pydantic models are
generated from the grammar, and these checks are beyond what they say.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from lumen_ext.spec import SchemaIssue
from lumen_ext.spec.checker_messages import kind_name, suggest
from lumen_ext.spec.deferred_values import is_deferred, is_ref

if TYPE_CHECKING:
    from lumen_ext.spec.catalog import Catalog
    from lumen_ext.spec.shape_checks import Path

__all__ = ["BuildChecks"]


def _resolved_later(value: Any) -> bool:
    return is_deferred(value) or is_ref(value) or (isinstance(value, str) and value.startswith("@"))


class BuildChecks:
    cat: Catalog
    issues: list[SchemaIssue]
    build_issues: list[SchemaIssue]

    def emit_build(
        self, path: Path, rule: str, message: str, hint: str | None = None, target: str = "value"
    ) -> None:
        self.build_issues.append(SchemaIssue(path, rule, message, hint, "error", target))

    def after_typed(self, spec: dict[str, Any], path: Path, family: str, type_name: str, label: str) -> None:
        """Checks of one typed component beyond its keys and value types."""
        if family == "variable" and type_name == "widget":
            self.widget_kind(spec, path, label)
        elif family == "filter" and type_name == "bins":
            self.bin_pairs(spec, path, label)
        elif family == "transform" and type_name == "aggregate":
            self.aggregate_by(spec, path, label)

    def widget_kind(self, spec: dict[str, Any], path: Path, label: str) -> None:
        # variables/base.py Widget.__init__: `getattr(pn.widgets, kind)` (AttributeError) unless dotted.
        kind = spec.get("kind")
        if not isinstance(kind, str) or "." in kind or _resolved_later(kind) or not self.cat.panel_widgets:
            return
        if kind in self.cat.panel_widgets:
            return
        self.emit_build(
            (*path, "kind"),
            "unknown-type",
            f"{label} kind {kind!r} is not a Panel widget; Lumen fails with AttributeError when it builds it",
            hint=suggest(kind, sorted(self.cat.panel_widgets))
            or "a class of `panel.widgets`, e.g. 'IntSlider'",
        )

    def bin_pairs(self, spec: dict[str, Any], path: Path, label: str) -> None:
        # filters/base.py BinFilter: each bin is unpacked as `start, end` when the widget is built.
        bins = spec.get("bins")
        if not isinstance(bins, list):
            return
        if bins and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bins):
            pairs = [list(p) for p in itertools.pairwise(bins)][:3]
            self.emit_build(
                (*path, "bins"),
                "invalid-value",
                f"{label} 'bins' must be pairs [start, end], got a list of edges; Lumen fails with TypeError "
                "when it builds the filter",
                hint=f"write the bins as pairs: {pairs}{' ...' if len(bins) > 4 else ''}",
            )
            return
        for i, item in enumerate(bins):
            if _resolved_later(item):
                continue
            if not isinstance(item, list) or len(item) != 2:
                shown = f"a list of {len(item)}" if isinstance(item, list) else kind_name(item)
                self.emit_build(
                    (*path, "bins", i),
                    "invalid-value",
                    f"{label} bin {i} must be a pair [start, end], got {shown}; Lumen fails with TypeError "
                    "when it builds the filter",
                    hint="write the bins as pairs, e.g. [[0, 10], [10, 20]]",
                )

    def aggregate_by(self, spec: dict[str, Any], path: Path, label: str) -> None:
        # transforms/base.py Aggregate.apply: `table.groupby(by=self.by, **self.kwargs)`; pandas refuses neither.
        kwargs = spec.get("kwargs")
        if isinstance(kwargs, dict) and kwargs.get("level") is not None:
            return
        by = spec.get("by")
        if "by" not in spec:
            self.emit_build(
                path,
                "missing-key",
                f"{label} requires 'by' (the columns to group by); without it pandas fails with TypeError "
                "when the pipeline runs",
                target="mapping",
            )
        elif by in ([], None, ""):
            self.emit_build(
                (*path, "by"),
                "invalid-value",
                f"{label} 'by' is empty; pandas fails with TypeError when the pipeline runs",
            )

    def auth_plugins(self, auth: Any) -> None:
        # dashboard.py AuthSpec.validate: `Auth.validate(plugin)` per plugin, by `auth_type`.
        plugins = auth.get("plugins") if isinstance(auth, dict) else None
        if not isinstance(plugins, list) or not self.cat.auth_plugins:
            return
        for i, plugin in enumerate(plugins):
            path = ("auth", "plugins", i)
            if not isinstance(plugin, dict):
                continue  # a list of mappings: the declared item type reports it
            type_name = plugin.get("type")
            if "type" not in plugin:
                self.emit_build(
                    path, "missing-key", "Auth plugin does not declare a 'type'", target="mapping"
                )
                continue
            if not isinstance(type_name, str) or "." in type_name or _resolved_later(type_name):
                continue
            keys = self.cat.auth_plugins.get(type_name)
            if keys is None:
                self.emit_build(
                    (*path, "type"),
                    "unknown-type",
                    f"Auth plugin declares unknown type {type_name!r}",
                    hint=suggest(type_name, sorted(self.cat.auth_plugins))
                    or "one of: " + ", ".join(sorted(self.cat.auth_plugins)),
                )
                continue
            for key in plugin:
                if key != "type" and key not in keys:
                    self.emit_build(
                        (*path, key),
                        "unknown-key",
                        f"Auth plugin {type_name!r} has no key {key!r}",
                        hint=suggest(str(key), keys),
                        target="key",
                    )

    def download_format(self, value: str, path: Path, family: str, label: str) -> None:
        # downloads.py Download.validate wraps a string as `{'format': value}`: the whole string is the format
        # (`data.csv` too, although a view's constructor would split it).
        if _resolved_later(value):
            return
        formats = self.cat.components[family]["fields"]["format"]["values"]
        if value in formats:
            return
        hint = suggest(value, formats) or "one of: " + ", ".join(map(repr, formats))
        self.emit_build(path, "invalid-value", f"{label} got {value!r}, which is not a download format", hint)

    def download_defaults(self, defaults: Any) -> None:
        # dashboard.py Defaults.validate checks `download:` against the params of the views' Download.
        download = defaults.get("download") if isinstance(defaults, dict) else None
        if isinstance(download, dict):
            # Defaults set class params: every key is optional, unknown ones are refused.
            entry = dict(self.cat.components["view_download"], keys_checked=True, required=[])
            # Checked like a component, reported as a build check: the grammar declares a free mapping here.
            grammar, self.issues = self.issues, []
            try:
                self.component(download, ("defaults", "download"), entry, "Defaults for Download")
            finally:
                found, self.issues = self.issues, grammar
            self.build_issues.extend(found)

    def reference_refused(self, value: Any, path: Path, label: str) -> None:
        # base.py Component._validate_spec_: a component with `_allows_refs = False` (a layout, the auth spec)
        # rejects any value that is a reference, `$variables.x Analysis` included.
        if is_deferred(value) or not is_ref(value):
            return
        self.emit_build(
            path,
            "invalid-value",
            f"{label} does not allow references, but its value {value!r} is one; Lumen refuses the spec",
            hint="write the text literally (a layout title cannot follow a variable)",
        )
