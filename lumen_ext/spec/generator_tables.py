"""What the catalog generator (:mod:`lumen_ext.spec.generate`) knows besides Lumen's ``param`` declarations: where
each component family starts, the shapes Lumen's ``_validate_<key>`` hooks accept, and the keys Lumen takes at run
time although its declarations do not say so."""

from __future__ import annotations

from typing import Any

# Lumen's per-key validation hooks (`_validate_<key>`) accept shapes that the param declaration alone does not
# describe. Every hook Lumen defines must be listed here, keyed by the class that defines it: the generator
# fails on an unlisted hook, so a Lumen upgrade that adds one cannot slip through as a silent false positive.
HOOK_SHAPES: dict[tuple[str, str], dict[str, Any] | None] = {
    # Dashboard: name -> component mappings, and the layouts list.
    ("Dashboard", "variables"): {"t": "components", "family": "variable", "shape": "dict"},
    ("Dashboard", "sources"): {"t": "components", "family": "source", "shape": "dict"},
    ("Dashboard", "pipelines"): {"t": "components", "family": "pipeline", "shape": "dict"},
    ("Dashboard", "layouts"): {"t": "components", "family": "layout", "shape": "list"},
    # Config hooks check against Lumen's own tables (filled in by `_config_enums`).
    ("Config", "layout"): None,
    ("Config", "theme"): None,
    ("Config", "template"): {"t": "template"},
    ("Config", "on_error"): {"t": "callable"},
    ("Config", "on_loaded"): {"t": "callable"},
    ("Config", "on_update"): {"t": "callable"},
    ("Config", "on_session_created"): {"t": "callable"},
    ("Config", "on_session_destroyed"): {"t": "callable"},
    # Defaults: lists of `{type: <name>, <param>: <value>}` checked against the named component's params.
    ("Defaults", "download"): {"t": "dict"},
    ("Defaults", "filters"): {"t": "defaults", "family": "filter"},
    ("Defaults", "sources"): {"t": "defaults", "family": "source"},
    ("Defaults", "transforms"): {"t": "defaults", "family": "transform"},
    ("Defaults", "views"): {"t": "defaults", "family": "view"},
    ("YamlAuthMapperPlugin", "yaml_file"): {"t": "str"},
    # Pipeline: a declared name or an inline spec; filters in every shape Lumen takes.
    ("Pipeline", "source"): {"t": "ref_or_spec", "family": "source"},
    ("Pipeline", "pipeline"): {"t": "ref_or_spec", "family": "pipeline"},
    ("Pipeline", "filters"): {"t": "filters"},
    # Layout: deprecated keys fold into `facet`; views as list or dict; the grid in every shape.
    ("Layout", "config"): {"t": "dict", "deprecated": "use the 'facet' key of the layout instead"},
    ("Layout", "sort"): {"t": "any", "deprecated": "use 'facet: {sort: ...}' instead"},
    ("Layout", "facet_layout"): {"t": "any", "deprecated": "use 'facet: {layout: ...}' instead"},
    ("Layout", "pipeline"): {"t": "ref_or_spec", "family": "pipeline"},
    ("Layout", "source"): {"t": "ref_or_spec", "family": "source"},
    ("Layout", "filters"): {"t": "components", "family": "filter", "shape": "list"},
    ("Layout", "views"): {"t": "components", "family": "view", "shape": "list_or_dict"},
    # Views: legacy pipeline-building keys, and hvPlot's bare-column coercion.
    ("View", "pipeline"): {"t": "ref_or_spec", "family": "pipeline"},
    ("View", "filters"): {"t": "components", "family": "filter", "shape": "list"},
    ("View", "transforms"): {"t": "components", "family": "transform", "shape": "list"},
    ("View", "sql_transforms"): {"t": "components", "family": "sql_transform", "shape": "list"},
    ("hvPlotBaseView", "by"): {"t": "union", "of": [{"t": "str"}, {"t": "list"}], "null": True},
    ("hvPlotBaseView", "groupby"): {"t": "union", "of": [{"t": "str"}, {"t": "list"}], "null": True},
    # Legacy source-level filters (DeprecationWarning in Lumen).
    ("Source", "filters"): {
        "t": "components",
        "family": "filter",
        "shape": "dict",
        "deprecated": "declare filters on the pipeline instead",
    },
    # DerivedSource filters are its own (non-deprecated) list applied to the mirrored tables.
    ("DerivedSource", "filters"): {"t": "components", "family": "filter", "shape": "list"},
    # `_validate_params` is a ClassVar flag, not a hook; `_validate_widget` only resolves the dotted path.
    ("WidgetFilter", "widget"): {"t": "str"},
}


# Params whose declaration is narrower than what Lumen accepts through another path.
PARAM_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    # Declared List(item_type=FacetFilter), but specs give field names: `facet: {by: [model]}`; the validator
    # passes strings through and Layout builds the FacetFilters (layout.py Facet.from_spec).
    ("Facet", "by"): {"t": "list", "items": {"t": "str"}},
}


# Hooks that exist in Lumen but are not per-key validators.
NOT_HOOKS = {"_validate_params", "_validate_keys_", "_validate_required_", "_validate_spec_", "_validate_ref"}


FAMILY_BASES = {
    "source": ("lumen.sources.base", "Source", "sources"),
    "transform": ("lumen.transforms.base", "Transform", "transforms"),
    "sql_transform": ("lumen.transforms.sql", "SQLTransform", "transforms"),
    "filter": ("lumen.filters.base", "Filter", "filters"),
    "view": ("lumen.views.base", "View", "views"),
    "variable": ("lumen.variables.base", "Variable", "variables"),
}


# lumen-ext's own components: importing these modules defines their Lumen subclasses, which `generate._families` then
# describes with the built-ins. Each is listed under its short `*_type` name (what `lumen-ext serve` resolves)
# and under its dotted class path (what plain `lumen serve` needs), so both spellings are checked.
OWN_COMPONENT_MODULES = ("lumen_ext.sources.dask",)


# Lumen components that are not type-discriminated: `(module, class, extra keys Lumen accepts but does not
# declare as params)`.
SINGLETONS = {
    "dashboard": ("lumen.dashboard", "Dashboard"),
    "config": ("lumen.dashboard", "Config"),
    "defaults": ("lumen.dashboard", "Defaults"),
    "auth": ("lumen.dashboard", "AuthSpec"),
    "pipeline": ("lumen.pipeline", "Pipeline"),
    "layout": ("lumen.layout", "Layout"),
    "facet": ("lumen.layout", "Facet"),
    "layout_download": ("lumen.layout", "Download"),
    "view_download": ("lumen.downloads", "Download"),
}


# Keys Lumen accepts at run time although its validator rejects them (LUMEN-NOTES §1.7, §6.2 #12).
RUNTIME_EXTRA_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "pipeline": {
        "precache": {
            "t": "union",
            "of": [{"t": "dict"}, {"t": "list"}],
            "doc": "Filter and variable combinations to pre-compute when the pipeline is built "
            "(consumed by Pipeline.from_spec and `lumen-spec precache`).",
        }
    },
    "config": {
        "template_params": {
            "t": "dict",
            "doc": "Keyword arguments for the template (Lumen PR #516). Lumen 1.4 spells this "
            "`template: {type: <name>, **kwargs}`.",
            "deprecated": "use 'template: {type: <name>, ...}' instead",
        }
    },
    "dashboard": {
        "targets": {
            "t": "components",
            "family": "layout",
            "shape": "list",
            "doc": "Legacy name of `layouts`; Lumen renames it on load.",
        }
    },
}
