"""A read-only index of what a spec declares: variables, sources and their tables, pipelines, layouts, views.

The raw data may have any shape (the schema check reports wrong shapes); this module only picks out what is
well-formed enough to resolve references against, and remembers the path of each declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lumen_ext.validation.loader import Path

VARIABLE_REF = re.compile(r"\$variables\.([A-Za-z_]\w*)")  # lumen/util.py VARIABLE_RE
URL_TEMPLATE = re.compile(r"\$\{([\w.]+)\}")  # lumen/sources/base.py FileSource._template_re
# lumen-ext's Dask source (lumen_ext/sources/dask.py), by its short name and the dotted name plain Lumen needs.
DASK_SOURCES = frozenset({"dask", "lumen_ext.sources.dask.DaskSource"})
# Sources whose `tables:` values are file paths or URLs (the table name comes from the file name in a list).
FILE_SOURCES = frozenset({"file", "json", *DASK_SOURCES})


def component_type(spec: dict) -> str | None:
    """A component's ``type:`` when it is a string. Anything else (a list, a mapping, a number) is the schema
    check's error to report; to the other checks it means "unknown kind", and it must never be used as a dict key
    (a list is unhashable)."""
    value = spec.get("type")
    return value if isinstance(value, str) else None


@dataclass(slots=True)
class TableDecl:
    name: str
    path: Path  # the spec node that declares it (dict value or list item)
    value: Any


@dataclass(slots=True)
class SourceDecl:
    name: str
    path: Path
    spec: dict
    type: str | None
    tables: dict[str, TableDecl] | None  # None: the table names are only known at run time


@dataclass(slots=True)
class ViewDecl:
    layout: int
    name: str | None
    path: Path
    spec: dict


@dataclass(slots=True)
class LayoutDecl:
    index: int
    path: Path
    spec: dict
    views: list[ViewDecl]
    views_by_name: dict[str, ViewDecl] | None  # None when views are a list


@dataclass(slots=True)
class SpecModel:
    variables: dict[str, Any] = field(default_factory=dict)  # name -> spec (or shorthand value)
    sources: dict[str, SourceDecl] = field(default_factory=dict)
    pipelines: dict[str, dict] = field(default_factory=dict)
    pipeline_order: list[str] = field(default_factory=list)
    layouts: list[LayoutDecl] = field(default_factory=list)
    layouts_key: str = "layouts"

    def view_names(self) -> set[str]:
        names: set[str] = set()
        for layout in self.layouts:
            names.update(v.name for v in layout.views if v.name)
        return names

    def constant(self, name: str) -> tuple[bool, Any]:
        """The value of a variable when the spec alone fixes it (``constant`` or the shorthand form)."""
        spec = self.variables.get(name)
        if not isinstance(spec, dict):
            return (name in self.variables, spec)
        if spec.get("type") == "constant":
            return True, spec.get("value", spec.get("default"))
        return False, None

    def resolve(self, value: Any) -> tuple[bool, Any]:
        """Resolve a whole-string ``$variables.x`` reference to a constant; other values pass through."""
        if isinstance(value, str) and value.startswith("$variables."):
            m = VARIABLE_REF.fullmatch(value)
            return self.constant(m.group(1)) if m else (False, None)
        if isinstance(value, str) and value.startswith("$"):
            return False, None
        return True, value


def _source_tables(source: dict, path: Path, model: SpecModel) -> dict[str, TableDecl] | None:
    known, tables = model.resolve(source.get("tables"))
    stype = component_type(source)
    if not known:
        return None
    if stype == "intake" or stype == "intake_sql":
        catalog = source.get("catalog")
        if isinstance(catalog, dict) and isinstance(catalog.get("sources"), dict):
            return {
                str(n): TableDecl(str(n), (*path, "catalog", "sources", n), v)
                for n, v in catalog["sources"].items()
            }
        return None
    if stype in ("join", "derived") and isinstance(tables, dict):
        return {str(n): TableDecl(str(n), (*path, "tables", n), v) for n, v in tables.items()}
    if stype in ("join", "derived"):
        return None if stype == "derived" and "source" in source else {}
    if isinstance(tables, dict):
        return {str(n): TableDecl(str(n), (*path, "tables", n), v) for n, v in tables.items()}
    if isinstance(tables, list) and stype in FILE_SOURCES:
        result = {}
        for i, item in enumerate(tables):
            if isinstance(item, str):
                # lumen/sources/base.py FileSource._named_files: URLs keep their full text as the name.
                name = item if item.startswith("http") else ".".join(item.rsplit("/", 1)[-1].split(".")[:-1])
                result[name] = TableDecl(name, (*path, "tables", i), item)
            else:
                return None
        return result
    if isinstance(tables, list) and all(isinstance(t, str) for t in tables):
        # SQL sources: a list names tables that already exist in the database.
        return {t: TableDecl(t, (*path, "tables", i), t) for i, t in enumerate(tables)}
    return None if stype not in FILE_SOURCES else {}


def build_model(data: Any) -> SpecModel:
    model = SpecModel()
    if not isinstance(data, dict):
        return model
    variables = data.get("variables")
    if isinstance(variables, dict):
        model.variables = {str(k): v for k, v in variables.items()}
    sources = data.get("sources")
    if isinstance(sources, dict):
        for name, spec in sources.items():
            if isinstance(spec, dict):
                path = ("sources", name)
                stype = component_type(spec)
                model.sources[str(name)] = SourceDecl(str(name), path, spec, stype, None)
        for decl in model.sources.values():
            decl.tables = _source_tables(decl.spec, decl.path, model)
    pipelines = data.get("pipelines")
    if isinstance(pipelines, dict):
        for name, spec in pipelines.items():
            if isinstance(spec, dict):
                model.pipelines[str(name)] = spec
                model.pipeline_order.append(str(name))
    key = "layouts" if "layouts" in data or "targets" not in data else "targets"
    model.layouts_key = key
    layouts = data.get(key)
    if isinstance(layouts, list):
        for i, layout in enumerate(layouts):
            if not isinstance(layout, dict):
                continue
            path = (key, i)
            views = layout.get("views")
            decls: list[ViewDecl] = []
            by_name: dict[str, ViewDecl] | None = None
            if isinstance(views, dict):
                by_name = {}
                for vname, vspec in views.items():
                    if isinstance(vspec, dict):
                        decl = ViewDecl(i, str(vname), (*path, "views", vname), vspec)
                        decls.append(decl)
                        by_name[str(vname)] = decl
            elif isinstance(views, list):
                for j, vspec in enumerate(views):
                    if isinstance(vspec, dict):
                        name = vspec.get("name") if isinstance(vspec.get("name"), str) else None
                        decls.append(ViewDecl(i, name, (*path, "views", j), vspec))
            model.layouts.append(LayoutDecl(i, path, layout, decls, by_name))
    return model
