"""Pydantic v2 models of the whole Lumen spec, built from the component catalog.

``DashboardSpec`` is the root; every component family is a union discriminated on ``type`` with Lumen's own type
names (``FileSourceSpec`` for ``type: file``, ``HvplotViewSpec``... see ``model_for``). The models are built on
first use from ``_lumen_components.json`` (generated from Lumen's ``param`` declarations) plus registered plugin
components, so they never drift from Lumen; building them takes about a second, which is why ``check()`` uses
the lighter ``_checker`` instead (``tests/spec/test_models.py`` keeps the two in agreement).

    >>> from lumen_ext.spec.models import dashboard_model
    >>> DashboardSpec = dashboard_model()
    >>> DashboardSpec.model_validate(yaml.safe_load(text))

References (``$variables.x``, ``$source.table``), ``${...}`` templates, ``{{ ... }}`` Jinja text and ``@``-prefixed
values are accepted wherever Lumen accepts them; see ``Reference``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    create_model,
    model_validator,
)
from pydantic_core import core_schema
from typing_extensions import TypeAliasType

from lumen_ext.spec.catalog import FAMILY_TITLES, Catalog, catalog
from lumen_ext.spec.deferred_values import is_deferred, is_ref
from lumen_ext.spec.schema_unions import FamilyUnionSchema

# JSON Schema spelling of `is_ref` / `is_deferred` / the `@` escape, for editors.
REFERENCE_PATTERN = r"^[$@]|\$variables\.[A-Za-z_]|\{\{|\{%|\$\{"
REFERENCE_INLINE = {"type": "string", "pattern": REFERENCE_PATTERN}
# The `type:` of a component given by dotted import path (or a Jinja-templated one).
CUSTOM_TYPE_PATTERN = r"\.|\{\{"


def custom_type_schema_pattern(known: Any, optional: Any = ()) -> str:
    """The JSON Schema pattern of a custom component's `type:`: a dotted path that is not a known class's.

    Some known classes are keyed by their dotted path (`lumen_ext.sources.dask.DaskSource`, Lumen's abstract
    bases); the negative lookahead leaves those names to their own branch of the family's union. ``optional``
    names (sources whose back-end is not installed) are custom components too. Only the JSON Schema needs the
    lookahead: pydantic routes by the discriminator first (and its Rust regex engine has no lookahead).
    """
    pattern = CUSTOM_TYPE_PATTERN
    dotted = sorted(name for name in known if "." in name)
    if dotted:
        names = "|".join(re.escape(name) for name in dotted)
        pattern = rf"^(?!(?:{names})$)[\s\S]*(?:{CUSTOM_TYPE_PATTERN})"
    return f"{_exactly(optional)}|{pattern}" if optional else pattern


def _exactly(names: Any) -> str:
    return "^(?:" + "|".join(re.escape(name) for name in sorted(names)) + ")$"


class Reference:
    """Annotation marker: the field also takes a reference or deferred text (validated by Lumen later).

    ``refs=False`` for components that refuse references (Dashboard, Layout): only Jinja/URL templates pass.
    """

    def __init__(self, refs: bool = True):
        self.refs = refs

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        refs = self.refs

        def passthrough(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
            if is_deferred(value) or (
                refs and (is_ref(value) or (isinstance(value, str) and value.startswith("@")))
            ):
                return value
            return validate(value)

        return core_schema.no_info_wrap_validator_function(passthrough, inner)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        inner = handler(schema)
        # Inlined here (pydantic only tracks $refs of its own models); `schema.build` folds every copy into
        # one `$defs/LumenReference`.
        return {"anyOf": [inner, dict(REFERENCE_INLINE)]}


def _bounded(base: Any, desc: dict[str, Any]) -> Any:
    constraints = {}
    for key, arg in (("min", "ge"), ("max", "le"), ("xmin", "gt"), ("xmax", "lt")):
        if desc.get(key) is not None:
            constraints[arg] = desc[key]
    return Annotated[base, Field(**constraints)] if constraints else base


# A layout grid: nested lists of view indices or names, e.g. [[0, 1], [map, [table, hist]]].
GridItem = TypeAliasType("GridItem", Union[StrictInt, StrictStr, list["GridItem"]])  # noqa: UP007


class _Builder:
    """Turns catalog entries into pydantic models, caching one model per component."""

    def __init__(self, cat: Catalog):
        self.cat = cat
        self.models: dict[str, type[BaseModel]] = {}
        self.unions: dict[str, Any] = {}
        self.names: set[str] = set()
        # Components nest recursively (a Pipeline may inline its parent Pipeline), so models refer to each
        # other by name and are resolved through this namespace once all exist.
        self.namespace: dict[str, Any] = {}
        self.building: dict[str, str] = {}

    # -- names -------------------------------------------------------------------------------------------

    def _model_name(self, class_name: str, family: str) -> str:
        name = f"{class_name.lstrip('_')}Spec"
        name = name[0].upper() + name[1:]
        if name in self.names:
            name = f"{class_name.lstrip('_')}{FAMILY_TITLES.get(family, family.title().replace('_', ''))}Spec"
        self.names.add(name)
        return name

    # -- descriptors -> annotations ----------------------------------------------------------------------

    def annotation(self, desc: dict[str, Any], refs: bool) -> Any:
        ann = self._base(desc, refs)
        if desc.get("null"):
            ann = Union[ann, None]  # noqa: UP007
        if desc["t"] not in ("any",):
            ann = Annotated[ann, Reference(refs)]
        return ann

    def _base(self, desc: dict[str, Any], refs: bool) -> Any:
        t = desc["t"]
        if t == "str":
            return StrictStr
        if t == "int":
            return _bounded(StrictInt, desc)
        if t == "num":
            # Bounds on each member: on the union, pydantic writes `ge`/`le` into the JSON Schema, which no
            # JSON Schema validator knows.
            return Union[_bounded(StrictInt, desc), _bounded(StrictFloat, desc)]  # noqa: UP007
        if t == "bool":
            return StrictBool
        if t == "date":
            return StrictStr | dt.datetime | dt.date | StrictInt | StrictFloat
        if t == "any":
            return Any
        if t == "dict":
            return dict[Any, Any]
        if t == "callable":
            return Annotated[StrictStr, Field(pattern=r"\.")]
        if t == "enum":
            values = tuple(v for v in desc["values"] if v is not None)
            ann = Literal[values] if values else Any
            return ann | None if None in desc["values"] else ann
        if t == "list":
            item = self.annotation(desc["items"], refs) if "items" in desc else Any
            constraints = {}
            if desc.get("min") is not None:
                constraints["min_length"] = desc["min"]
            if desc.get("max") is not None:
                constraints["max_length"] = desc["max"]
            return Annotated[list[item], Field(**constraints)] if constraints else list[item]
        if t == "tuple":
            length = desc.get("length")
            return Annotated[list[Any], Field(min_length=length, max_length=length)] if length else list[Any]
        if t == "union":
            options = tuple(self._base(d, refs) for d in desc["of"])
            return Union[options]  # noqa: UP007
        if t == "component":
            return self.family(desc["family"])
        if t == "components":
            item = self.family(desc["family"])
            if desc["family"] == "view":
                item = Union[item, StrictStr]  # noqa: UP007
            if desc["family"] == "variable":
                # `name: <value>` declares a constant variable (Variables.from_spec).
                item = Union[item, StrictStr, StrictInt, StrictFloat, StrictBool, list[Any], None]  # noqa: UP007
            return {
                "list": list[item],
                "dict": dict[str, item],
                "list_or_dict": list[item] | dict[str, item],
            }[desc["shape"]]
        if t == "ref_or_spec":
            return Union[StrictStr, self.family(desc["family"])]  # noqa: UP007
        if t == "filters":
            item = Union[StrictStr, self.family("filter")]  # noqa: UP007
            return Literal["auto"] | list[item] | dict[str, item]
        if t == "grid":
            return Literal[tuple(desc["values"])] | dict[str, Any] | list[GridItem]
        if t == "template":
            return StrictStr | dict[str, Any]
        if t == "download":
            return Union[StrictStr, self.family(desc["family"])]  # noqa: UP007
        if t == "defaults":
            return list[Annotated[dict[str, Any], Field(json_schema_extra={"required": ["type"]})]]
        raise ValueError(f"unknown type descriptor {t!r}")

    # -- models ------------------------------------------------------------------------------------------

    def family(self, family: str) -> Any:
        if family not in FAMILY_TITLES:
            return self.fixed(family)
        if family in self.unions:
            return self.unions[family]
        alias = f"{FAMILY_TITLES[family]}Union"
        self.unions[family] = alias  # a forward reference while the members are being built
        types = self.cat.families[family]
        members = [Annotated[self.typed(family, name), Tag(name)] for name in types]
        members.append(Annotated[self.dotted(family), Tag("__dotted__")])
        known = set(types)

        def discriminate(value: Any) -> str | None:
            type_name = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
            if type_name in known:
                return type_name
            if isinstance(type_name, str) and ("." in type_name or is_deferred(type_name)):
                return "__dotted__"
            if family == "source" and type_name in self.cat.optional_sources:
                return "__dotted__"
            return None

        title = FAMILY_TITLES[family]
        names = self.cat.short_types(family) + sorted(self._optional(family))
        union = TypeAliasType(  # one `$defs/<Family>Union` in the JSON Schema, however often it is used
            alias,
            Annotated[
                Union[tuple(members)],  # noqa: UP007
                Discriminator(
                    discriminate,
                    custom_error_type="unknown-type",
                    custom_error_message=f"unknown {title} type; expected one of: "
                    + ", ".join(self.cat.short_types(family)),
                ),
                FamilyUnionSchema(
                    title=title,
                    names=tuple(names),
                    custom_tag="__dotted__",
                    custom_pattern=custom_type_schema_pattern(types, self._optional(family)),
                    any_custom_pattern=CUSTOM_TYPE_PATTERN,
                ),
            ],
        )
        self.unions[family] = union
        self.namespace[alias] = union
        return union

    def _optional(self, family: str) -> tuple[str, ...]:
        """Sources whose optional back-end is not installed: Lumen imports them by name, like a dotted path."""
        return tuple(self.cat.optional_sources) if family == "source" else ()

    def dotted(self, family: str) -> type[BaseModel]:
        key = f"{family}:__dotted__"
        if key not in self.models:
            title = FAMILY_TITLES[family]
            optional = self._optional(family)
            self.models[key] = create_model(
                f"Custom{title}Spec",
                __config__=ConfigDict(extra="allow"),
                __doc__=f"A {title} given by dotted import path (`type: my_pkg.my_module.My{title}`), or an "
                "optional back-end; Lumen imports it and checks its keys.",
                type=(
                    StrictStr,
                    Field(
                        pattern=custom_type_schema_pattern((), optional),  # no lookahead without known names
                        description="Dotted import path of the class"
                        + (", or the name of a source whose back-end is not installed." if optional else "."),
                        json_schema_extra={
                            "pattern": custom_type_schema_pattern(self.cat.families[family], optional)
                        },
                    ),
                ),
            )
        return self.models[key]

    def typed(self, family: str, type_name: str) -> type[BaseModel]:
        key = f"{family}:{type_name}"
        if key not in self.models:
            entry = self.cat.families[family][type_name]
            name = self._model_name(self.cat.class_name(entry), family)
            extra_fields: dict[str, Any] = {"type": (Literal[type_name], Field(description=f"`{type_name}`"))}
            if family == "view" and "selection_group" in entry["fields"]:
                entry = _with_doc(entry, "selection_group", SELECTION_GROUP_NOTE)
            if family == "view" and type_name == "hvplot":
                # hvPlot options: the per-kind check is the checker's (`unknown-option`); the schema lists
                # every option hvPlot knows so editors complete them and flag typos.
                options = set(self.cat.hvplot["common"]).union(*self.cat.hvplot["per_kind"].values())
                for option in sorted(options - set(entry["fields"])):
                    doc = f"hvPlot option `{option}`." + (BRUSH_TOOLS_NOTE if option == "tools" else "")
                    extra_fields[option] = (Any, Field(None, description=doc))
                entry = dict(entry, keys_checked=True)
            self.models[key] = self._build(name, entry, extra_fields)
        return self.models[key]

    def fixed(self, component: str) -> Any:
        if component in self.building:
            return self.building[component]
        if component not in self.models:
            entry = self.cat.components[component]
            name = {"layout_download": "LayoutDownloadSpec", "view_download": "ViewDownloadSpec"}.get(
                component
            ) or self._model_name(self.cat.class_name(entry), component)
            self.building[component] = name
            self.models[component] = self._build(name, entry, {})
            del self.building[component]
        return self.models[component]

    def _build(self, name: str, entry: dict[str, Any], extra_fields: dict[str, Any]) -> type[BaseModel]:
        refs = entry.get("allows_refs", True)
        required = {r for r in entry.get("required", []) if isinstance(r, str)}
        fields: dict[str, Any] = dict(extra_fields)
        for key, desc in entry["fields"].items():
            if not key.isidentifier() or key.startswith("_") or key in ("model_config",):
                continue
            info: dict[str, Any] = {"description": desc.get("doc")}
            extra: dict[str, Any] = {}
            if "deprecated" in desc:
                extra["deprecated"] = True
                info["description"] = f"Deprecated: {desc['deprecated']}. " + (desc.get("doc") or "")
            if extra:
                info["json_schema_extra"] = extra
            default = ... if key in required else None
            ann = self.annotation(desc, refs)
            if key not in required:
                ann = Union[ann, None]  # noqa: UP007  (may be a forward-reference string)
            if hasattr(BaseModel, key):
                # e.g. `schema`, `copy`: keep the spec key as the alias of a non-clashing attribute.
                fields[f"{key}_"] = (ann, Field(default, alias=key, **info))
            else:
                fields[key] = (ann, Field(default, **info))
        # Keys Lumen accepts without checking (hvplot_ui, panel, indicator, vegalite views; widget variables;
        # auth) stay open; everywhere Lumen key-checks, an unknown key is a user typo.
        config = ConfigDict(
            extra="forbid" if entry["keys_checked"] else "allow",
            protected_namespaces=(),
            title=name.removesuffix("Spec"),
            json_schema_extra=_one_of_required(entry),
        )
        groups = [list(r) for r in entry.get("required", []) if not isinstance(r, str)]
        validators = {"require_one_of": _require_one_of(groups)} if groups else None
        model = create_model(
            name, __config__=config, __doc__=entry.get("doc"), __validators__=validators, **fields
        )
        self.namespace[name] = model
        return model


def _require_one_of(groups: list[list[str]]) -> Any:
    """A pipeline needs `source` or `pipeline`: pydantic fields cannot say "one of", a model validator can."""

    def require(cls: type[BaseModel], data: Any) -> Any:
        if isinstance(data, dict):
            for group in groups:
                if not any(key in data for key in group):
                    raise ValueError(
                        f"{cls.__name__.removesuffix('Spec')} requires one of: {', '.join(group)}"
                    )
        return data

    return model_validator(mode="before")(classmethod(require))


def _one_of_required(entry: dict[str, Any]) -> dict[str, Any] | None:
    """Groups of keys of which one is required, as: `if` none of the others is there, `then` the first one is.

    That accepts the same specs as ``anyOf: [{required: [a]}, {required: [b]}]``, but a validator then reports
    "'source' is a required property" rather than "... is not valid under any of the given schemas".
    """
    groups = [r for r in entry.get("required", []) if not isinstance(r, str)]
    if not groups:
        return None
    return {
        "allOf": [
            {"if": {"not": _any_present(others)}, "then": {"required": [first]}}
            if others
            else {"required": [first]}
            for first, *others in groups
        ]
    }


def _any_present(keys: list[str]) -> dict[str, Any]:
    present = [{"required": [key]} for key in keys]
    return present[0] if len(present) == 1 else {"anyOf": present}


# What lumen-ext does with a view's selection group (docs/crossfilter.md), for editors' hover text: the brush is
# declared with hvPlot's own `tools`, so the spec stays Lumen's.
SELECTION_GROUP_NOTE = (
    " Under lumen-ext the group is a crossfilter computed in the data source: a view whose hvPlot `tools` include "
    "`xbox_select`, `box_select` or `tap` brushes its `x` (and `y`) column, and every other view of the group "
    "shows only the rows its brush selects."
)
BRUSH_TOOLS_NOTE = (
    " In a view with a `selection_group`, one of `xbox_select` (an interval on x), `box_select` (intervals on x "
    "and y) or `tap` (the categories clicked) makes the view a crossfilter brush under lumen-ext."
)


def _with_doc(entry: dict[str, Any], key: str, note: str) -> dict[str, Any]:
    """``entry`` with ``note`` appended to the description of its field ``key``."""
    desc = entry["fields"][key]
    return dict(entry, fields={**entry["fields"], key: dict(desc, doc=(desc.get("doc") or "") + note)})


@cache
def builder(plugins: bool = True) -> _Builder:
    b = _Builder(catalog(plugins))
    b.fixed("dashboard")
    for family in FAMILY_TITLES:
        b.family(family)
    for model in list(b.models.values()):
        model.model_rebuild(_types_namespace=b.namespace)
    return b


def dashboard_model(plugins: bool = True) -> type[BaseModel]:
    """The root model: a whole dashboard spec."""
    return builder(plugins).models["dashboard"]


def model_for(family: str, type_name: str, plugins: bool = True) -> type[BaseModel]:
    """The model of one component type, e.g. ``model_for("source", "file")`` -> ``FileSourceSpec``."""
    return builder(plugins).typed(family, type_name)
