"""The example specs together exercise every feature the issue lists, and each one is well formed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.paths import EXAMPLE_SPECS as SPECS
from support.paths import SPECS_DIR

MODELINE = "# yaml-language-server: $schema=../schemas/lumen-spec.schema.json"
READ_FUNCTION = re.compile(r"read_(csv|parquet)\('([^']+)'", re.IGNORECASE)


def load(spec: Path) -> dict[str, Any]:
    return yaml.safe_load(spec.read_text(encoding="utf-8"))


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a parsed spec, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def views(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for layout in spec.get("layouts", []):
        layout_views = layout.get("views", {})
        yield from layout_views.values() if isinstance(layout_views, dict) else layout_views


def features(specs: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for spec in specs:
        for source in spec.get("sources", {}).values():
            found.add(f"source:{source['type']}")
            for table in source.get("tables", {}).values():
                text = table if isinstance(table, str) else str(table)
                found.update(f"format:{ext.lower()}" for ext, _ in READ_FUNCTION.findall(text))
                if text.endswith((".csv", ".parquet")):
                    found.add(f"format:{text.rsplit('.', 1)[1]}")
                if source["type"] == "duckdb" and text.lstrip().upper().startswith("SELECT"):
                    found.add("duckdb:sql-table")
        for pipeline in spec.get("pipelines", {}).values():
            filters = pipeline.get("filters", [])
            for filt in filters.values() if isinstance(filters, dict) else filters:
                found.add(f"filter:{filt['type']}")
            if pipeline.get("transforms"):
                found.add("transforms")
            if pipeline.get("sql_transforms"):
                found.add("sql_transforms")
        for view in views(spec):
            found.add(f"view:{view['type']}")
            if view["type"] == "hvplot":
                found.add(f"hvplot:{view['kind']}")
        if spec.get("config", {}).get("layout") == "tabs" and len(spec.get("layouts", [])) > 1:
            found.add("layout:tabs")
        for layout in spec.get("layouts", []):
            grid = layout.get("layout")
            if isinstance(grid, list) and all(isinstance(row, list) for row in grid):
                found.add("layout:grid")
        if spec.get("variables"):
            found.add("variables")
        if spec.get("defaults"):
            found.add("defaults")
    return found


def test_at_least_four_specs() -> None:
    assert len(SPECS) >= 4, [s.name for s in SPECS]


def test_specs_cover_every_listed_feature() -> None:
    found = features([load(spec) for spec in SPECS])
    required = {
        "source:file",
        "source:duckdb",
        "format:csv",
        "format:parquet",
        "duckdb:sql-table",
        "filter:widget",
        "transforms",
        "sql_transforms",
        "view:hvplot",
        "view:table",
        "view:indicator",
        "layout:tabs",
        "layout:grid",
        "variables",
        "defaults",
    }
    assert required <= found, f"missing: {sorted(required - found)}"
    assert found & {"filter:date", "filter:datetime"}, "no date filter"
    kinds = {f for f in found if f.startswith("hvplot:")}
    assert len(kinds) >= 5, f"too few hvPlot kinds: {sorted(kinds)}"


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
class TestEachSpec:
    def test_starts_with_schema_modeline(self, spec: Path) -> None:
        assert spec.read_text(encoding="utf-8").splitlines()[0] == MODELINE

    def test_has_a_title(self, spec: Path) -> None:
        assert load(spec)["config"]["title"].strip()

    def test_only_download_defaults(self, spec: Path) -> None:
        # Lumen 1.4.0 crashes on defaults for filters, sources, transforms and views (param 2 set_param).
        assert set(load(spec).get("defaults", {})) <= {"download"}

    def test_no_jinja_env_or_shell(self, spec: Path) -> None:
        text = spec.read_text(encoding="utf-8")
        assert not re.search(r"\{\{\s*(env|shell)\s*\(", text)

    def test_no_perspective_views_or_logo(self, spec: Path) -> None:
        parsed = load(spec)
        assert "logo" not in parsed.get("config", {})
        assert all(view["type"] != "perspective" for view in views(parsed))

    def test_data_files_exist(self, spec: Path) -> None:
        # Paths are written relative to the spec's folder (FileSource semantics; DuckDB finds them through
        # the `specs` file search path). The generated file is checked by the build test instead.
        for source in load(spec).get("sources", {}).values():
            for table in source.get("tables", {}).values():
                paths = [p for _, p in READ_FUNCTION.findall(table)] or [table]
                for path in paths:
                    if "generated/" not in path:
                        assert (SPECS_DIR / path).is_file(), path

    def test_no_remote_urls(self, spec: Path) -> None:
        # Dashboards must not reach off 127.0.0.1: no URLs and no map tiles.
        parsed = load(spec)
        assert "://" not in spec.read_text(encoding="utf-8").split("\nconfig:", 1)[1]
        assert all("tiles" not in node for node in walk(parsed))
