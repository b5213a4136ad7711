"""Specs that Lumen 1.4.0 accepts and then crashes on (LUMEN-NOTES §6.1-6.2), reported before anyone serves them.

Each entry cites the line in Lumen that fails, so the rule can be retired when Lumen fixes it.
"""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.datasources import REMOTE
from lumen_ext.validation.layout_refs import filter_specs
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import URL_TEMPLATE, SourceDecl, SpecModel

_DEFAULT_FAMILIES = ("filters", "sources", "transforms", "views")


def check_lumen_bugs(ctx: CheckContext, model: SpecModel) -> None:
    data = ctx.data
    if not isinstance(data, dict):
        return
    config = data.get("config")
    if isinstance(config, dict) and config.get("logo"):
        ctx.report(
            ("config", "logo"),
            "lumen-runtime-bug",
            "`config.logo` crashes Lumen 1.4.0 when the template is built "
            "(dashboard.py:313 reads `self.config.logo` on the Config itself)",
            "remove `logo` until Lumen fixes it",
            target="key",
        )
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        for family in _DEFAULT_FAMILIES:
            if defaults.get(family):
                ctx.report(
                    ("defaults", family),
                    "lumen-runtime-bug",
                    f"`defaults.{family}` crashes Lumen 1.4.0 at start-up: it calls `param.set_param`, "
                    "which param 2 removed (dashboard.py:427)",
                    "set the options on each component instead; `defaults.download` is unaffected",
                    target="key",
                )
    for path, spec in filter_specs(data):
        _check_filter(ctx, path, spec)
    _check_views(ctx, data, ())
    for src in model.sources.values():
        _check_source(ctx, src)


def _check_source(ctx: CheckContext, src: SourceDecl) -> None:
    for table in (src.tables or {}).values():
        value = table.value[0] if isinstance(table.value, list) and table.value else table.value
        if not isinstance(value, str) or (REMOTE.match(value) and not value.startswith("file://")):
            continue
        if src.type == "json":
            ctx.report(
                table.path,
                "lumen-runtime-bug",
                "a `json` source cannot read a local file in Lumen 1.4.0: it fails with TypeError "
                "(sources/base.py:1550 runs a regex on a `Path`)",
                "use `type: file` for local JSON files",
            )
        elif src.type == "file" and URL_TEMPLATE.search(value):
            ctx.report(
                table.path,
                "lumen-runtime-bug",
                "a `${...}` template in a local file path crashes Lumen 1.4.0 "
                "(sources/base.py:1016 calls `Path.replace`, the rename method)",
                "templates work only in http(s) URLs",
            )


def _check_filter(ctx: CheckContext, path: Path, spec: dict) -> None:
    ftype, multi, mode = spec.get("type"), spec.get("multi", True), spec.get("mode", "slider")
    if ftype == "date" and mode == "picker" and multi:
        ctx.report(
            (*path, "mode"),
            "lumen-runtime-bug",
            "a `date` filter with `mode: picker` and `multi: true` (the default) fails with KeyError 'picker' "
            "in Lumen 1.4.0 (filters/base.py:541, the range picker is commented out)",
            "add `multi: false`, or use `mode: slider`",
        )
    if ftype == "datetime" and multi is False and mode == "slider":
        ctx.report(
            (*path, "multi"),
            "lumen-runtime-bug",
            "a `datetime` filter with `multi: false` falls back to a picker through `param.set_param`, "
            "which param 2 removed (filters/base.py:467)",
            "add `mode: picker`",
        )


def _check_views(ctx: CheckContext, node: Any, path: Path) -> None:
    if isinstance(node, dict):
        if node.get("type") == "perspective" and len(path) >= 2 and path[-2] == "views":
            ctx.report(
                (*path, "type"),
                "lumen-runtime-bug",
                "`perspective` views never render in Lumen 1.4.0: they call `param.get_param_values`, "
                "which param 2 removed (views/base.py:1612)",
                "use a `table` view",
            )
        for key, value in node.items():
            _check_views(ctx, value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_views(ctx, item, (*path, i))
