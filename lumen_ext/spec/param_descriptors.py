"""One ``param.Parameter`` as a type descriptor (the ``"t"`` vocabulary in the docstring of
:mod:`lumen_ext.spec.generate`); imports Lumen, so only the generator and third-party registration use it."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from typing import Any

from lumen_ext.spec.generator_tables import FAMILY_BASES, SINGLETONS

__all__ = ["clean_doc", "component_family", "describe", "is_sql_transform"]


def clean_doc(doc: str | None) -> str | None:
    if not doc:
        return None
    return " ".join(inspect.cleandoc(doc).split())


def _jsonable(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_jsonable(v) for v in value)
    return False


def _python_type(cls: type) -> dict[str, Any]:
    import param
    from lumen.base import Component

    if isinstance(cls, type) and issubclass(cls, Component):
        family = component_family(cls)
        if family:
            return {"t": "component", "family": family}
    mapping = {
        bool: {"t": "bool"},
        int: {"t": "int"},
        float: {"t": "num"},
        str: {"t": "str"},
        list: {"t": "list"},
        tuple: {"t": "list"},
        dict: {"t": "dict"},
        dt.date: {"t": "date"},
        dt.datetime: {"t": "date"},
    }
    if cls in mapping:
        return dict(mapping[cls])
    if isinstance(cls, type) and issubclass(cls, param.ParameterizedFunction):
        return {"t": "any"}
    return {"t": "any"}


def component_family(cls: type) -> str | None:
    for family, (module, name, _) in FAMILY_BASES.items():
        base = getattr(importlib.import_module(module), name)
        if issubclass(cls, base):
            # SQLTransform subclasses Transform; prefer the narrower family.
            if family == "transform" and is_sql_transform(cls):
                return "sql_transform"
            return family
    for family, (module, name) in SINGLETONS.items():
        if cls is getattr(importlib.import_module(module), name):
            return family
    return None


def is_sql_transform(cls: type) -> bool:
    from lumen.transforms.sql import SQLTransform

    return issubclass(cls, SQLTransform)


def describe(pobj: Any) -> dict[str, Any]:
    """Map one param.Parameter to a type descriptor (see the docstring of :mod:`lumen_ext.spec.generate`)."""
    import param

    desc: dict[str, Any]
    if isinstance(pobj, param.Boolean | param.Event):
        desc = {"t": "bool"}
    elif isinstance(pobj, param.Integer):
        desc = {"t": "int"}
        _add_bounds(desc, pobj)
    elif isinstance(pobj, param.Number) and not isinstance(pobj, param.Date | param.CalendarDate):
        desc = {"t": "num"}
        _add_bounds(desc, pobj)
    elif isinstance(pobj, param.Date | param.CalendarDate):
        desc = {"t": "date"}
    elif isinstance(pobj, param.Color):
        desc = {"t": "str"}
    elif isinstance(pobj, param.String):
        desc = {"t": "str"}
        if getattr(pobj, "regex", None):
            desc["regex"] = pobj.regex
    elif isinstance(pobj, param.ListSelector):
        objects = list(pobj.objects or [])
        if objects and _jsonable(objects) and pobj.check_on_set:
            desc = {"t": "list", "items": {"t": "enum", "values": objects}}
        else:
            desc = {"t": "list"}
    elif isinstance(pobj, param.Selector):
        desc = _describe_selector(pobj)
    elif isinstance(pobj, param.List):
        desc = {"t": "list"}
        item = pobj.item_type
        if isinstance(item, type):
            sub = _python_type(item)
            if sub["t"] == "component":
                desc = {"t": "components", "family": sub["family"], "shape": "list"}
            elif sub["t"] != "any":
                desc["items"] = sub
        bounds = getattr(pobj, "bounds", None)
        if bounds and bounds != (0, None):
            desc["min"], desc["max"] = bounds
    elif isinstance(pobj, param.Dict):
        desc = {"t": "dict"}
    elif isinstance(pobj, param.Tuple):  # Range, DateRange, NumericTuple... are Tuples too
        desc = {"t": "tuple", "length": pobj.length}
    elif isinstance(pobj, param.Callable):
        desc = {"t": "callable"}
    elif isinstance(pobj, param.ClassSelector):
        classes = pobj.class_ if isinstance(pobj.class_, tuple) else (pobj.class_,)
        if pobj.is_instance:
            options = [_python_type(c) for c in classes]
            unique = []
            for opt in options:
                if opt not in unique:
                    unique.append(opt)
            desc = unique[0] if len(unique) == 1 else {"t": "union", "of": unique}
            if any(o["t"] == "any" for o in unique):
                desc = {"t": "any"}
        else:
            # A class (not an instance) is expected; YAML can only name it by dotted path.
            desc = {"t": "str"}
    else:
        desc = {"t": "any"}
    if pobj.allow_None and desc["t"] != "any":
        desc["null"] = True
    doc = clean_doc(pobj.doc)
    if doc:
        desc["doc"] = doc
    return desc


def _describe_selector(pobj: Any) -> dict[str, Any]:
    objects = pobj.objects
    names = list(objects.keys()) if isinstance(objects, dict) else list(pobj.names or {})
    values = list(objects.values()) if isinstance(objects, dict) else list(objects or [])
    if not values or not pobj.check_on_set:
        # Field selectors (x, y, field, ...) get their objects from the data schema at run time only.
        return {"t": "any"}
    accepted = [v for v in values if _jsonable(v)] + [n for n in names if n not in values]
    if len(accepted) < len(values):
        # Some objects are Python objects (classes, functions): YAML can still name them.
        return (
            {"t": "any"}
            if not accepted
            else {"t": "union", "of": [{"t": "enum", "values": accepted}, {"t": "str"}]}
        )
    return {"t": "enum", "values": accepted}


def _add_bounds(desc: dict[str, Any], pobj: Any) -> None:
    bounds = getattr(pobj, "bounds", None)
    if not bounds:
        return
    lo, hi = bounds
    inclusive = getattr(pobj, "inclusive_bounds", (True, True))
    if lo is not None:
        desc["min" if inclusive[0] else "xmin"] = lo
    if hi is not None:
        desc["max" if inclusive[1] else "xmax"] = hi
