"""Optional packages a spec needs at run time; Lumen's validator does not look (LUMEN-NOTES §4.2).

Only ``importlib.util.find_spec`` is used: nothing is imported, so the check costs microseconds.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.loader import Path

# component family -> type -> (module to find, pip name)
_TYPE_NEEDS: dict[str, dict[str, tuple[str, str]]] = {
    "views": {
        "altair": ("altair", "altair"),
        "deckgl": ("pydeck", "pydeck"),
        "ydata_profiling": ("ydata_profiling", "ydata-profiling"),
        "graphic_walker": ("panel_graphic_walker", "panel-graphic-walker"),
    },
    "sources": {
        "sqlalchemy": ("sqlalchemy", "sqlalchemy"),
        "intake_dremio": ("intake_dremio", "intake-dremio"),
        "intake_dremio_sql": ("intake_dremio", "intake-dremio"),
        "xarray": ("xarray_sql", "xarray-sql"),
        "bigquery": ("google.cloud.bigquery", "google-cloud-bigquery"),
        "snowflake": ("snowflake.connector", "snowflake-connector-python"),
        "ae5": ("ae5_tools", "ae5-tools"),
    },
}
# intake finds drivers through entry points; the common plugins are importable modules.
_INTAKE_DRIVERS = {
    "sql": ("intake_sql", "intake-sql"),
    "parquet": ("intake_parquet", "intake-parquet"),
    "xarray": ("intake_xarray", "intake-xarray"),
    "netcdf": ("intake_xarray", "intake-xarray"),
    "zarr": ("intake_xarray", "intake-xarray"),
}
# hvplot options that hand the rendering to datashader.
_DATASHADER_OPTIONS = ("rasterize", "datashade", "dynspread")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package of a dotted name
        return False


def check_dependencies(ctx: CheckContext) -> None:
    data = ctx.data
    if not isinstance(data, dict):
        return
    sources = data.get("sources")
    if isinstance(sources, dict):
        for name, spec in sources.items():
            _check_type(ctx, "sources", spec, ("sources", name))
            if isinstance(spec, dict) and spec.get("type") in ("intake", "intake_sql"):
                _check_intake_drivers(ctx, spec.get("catalog"), ("sources", name, "catalog"))
    layouts = data.get("layouts", data.get("targets"))
    key = "layouts" if "layouts" in data else "targets"
    if isinstance(layouts, list):
        for i, layout in enumerate(layouts):
            views = layout.get("views") if isinstance(layout, dict) else None
            # Views of the wrong shape are the schema check's error; there is nothing to check here.
            items = (
                views.items()
                if isinstance(views, dict)
                else enumerate(views if isinstance(views, list) else [])
            )
            for vkey, view in items:
                path = (key, i, "views", vkey)
                _check_type(ctx, "views", view, path)
                if isinstance(view, dict) and view.get("type") == "hvplot":
                    _check_hvplot(ctx, view, path)


def _check_type(ctx: CheckContext, family: str, spec: Any, path: Path) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        return
    need = _TYPE_NEEDS[family].get(spec["type"])
    if need and not _installed(need[0]):
        ctx.report(
            (*path, "type"),
            "missing-dependency",
            f"`type: {spec['type']}` needs the `{need[1]}` package, which is not installed",
            f"pip install {need[1]}",
        )


def _check_intake_drivers(ctx: CheckContext, catalog: Any, path: Path) -> None:
    entries = catalog.get("sources") if isinstance(catalog, dict) else None
    if not isinstance(entries, dict):
        return
    for name, entry in entries.items():
        driver = entry.get("driver") if isinstance(entry, dict) else None
        need = _INTAKE_DRIVERS.get(driver) if isinstance(driver, str) else None
        if need and not _installed(need[0]):
            ctx.report(
                (*path, "sources", name, "driver"),
                "missing-dependency",
                f"intake driver `{driver}` needs the `{need[1]}` package, which is not installed; "
                "Lumen will fail with 'No plugins loaded for this entry'",
                f"pip install {need[1]}",
            )


def _check_hvplot(ctx: CheckContext, view: dict, path: Path) -> None:
    for option in _DATASHADER_OPTIONS:
        if view.get(option) is True and not _installed("datashader"):
            ctx.report(
                (*path, option),
                "missing-dependency",
                f"hvplot `{option}: true` needs the `datashader` package, which is not installed",
                "pip install datashader",
                target="key",
            )
            return
    if view.get("geo") is True and not _installed("geoviews"):
        ctx.report(
            (*path, "geo"),
            "missing-dependency",
            "hvplot `geo: true` needs the `geoviews` package, which is not installed",
            "pip install geoviews",
            target="key",
        )
