"""Property values a drawing keeps (:mod:`lumen_ext.views.drawings`): copied off one plot so that no later change
alters them, with the models they hold replaced by their places, and copied back onto another plot."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any

from lumen_ext.views.figure_paths import ModelPath

__all__ = [
    "Default",
    "ModelSpec",
    "Ref",
    "Unrecordable",
    "attached",
    "current",
    "detached",
    "equal",
    "holds",
    "nbytes_of",
]


class Unrecordable(Exception):
    """An update whose changes a drawing cannot hold."""


@dataclass(frozen=True)
class Ref:
    """A model of the plot, held by a property value, by its place: resolved on the plot a drawing is set on."""

    path: ModelPath
    type_name: str


@dataclass(frozen=True)
class ModelSpec:
    """A Bokeh value spec (``Field``, ``Value``, ...) that holds a model (a colour mapper)."""

    cls: type
    fields: tuple[tuple[str, Any], ...]


def detached(value: Any, places: dict[str, tuple[ModelPath, str]]) -> Any:
    """A copy of a property value that no later change of a model can alter, its models replaced by their places
    in the plot (``places``, model id -> place); Unrecordable for a model outside the plot or an unknown type."""
    import numpy as np
    from bokeh.model import Model
    from bokeh.util.dataclasses import Unspecified

    if isinstance(value, Model):
        place = places.get(value.id)
        if place is None:
            raise Unrecordable(f"a property holds a {type(value).__name__} outside the plot")
        return Ref(*place)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: detached(v, places) for k, v in value.items()}
    if isinstance(value, list):
        return [detached(v, places) for v in value]
    if isinstance(value, tuple):
        return tuple(detached(v, places) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple((f.name, detached(getattr(value, f.name), places)) for f in dataclasses.fields(value))
        if any(_holds_ref(v) for _, v in fields):
            return ModelSpec(type(value), fields)
        return value  # Bokeh's value specs are frozen
    if isinstance(value, str | bytes | int | float | bool | complex | np.generic) or value is None:
        return value
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta) or value is Unspecified:
        return value  # Unspecified: an unset field of a value spec
    raise Unrecordable(f"a property holds a {type(value).__name__}")


def _holds_ref(value: Any) -> bool:
    if isinstance(value, Ref | ModelSpec):
        return True
    if isinstance(value, dict):
        return any(_holds_ref(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_ref(v) for v in value)
    return False


def attached(value: Any, resolve: Any) -> Any:
    """A fresh copy of a recorded value for the plot whose models ``resolve(ref)`` returns."""
    import numpy as np

    if isinstance(value, Ref):
        return resolve(value)
    if isinstance(value, Default):
        return Default(attached(value.value, resolve))
    if isinstance(value, ModelSpec):
        return value.cls(**{name: attached(v, resolve) for name, v in value.fields})
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: attached(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [attached(v, resolve) for v in value]
    if isinstance(value, tuple):
        return tuple(attached(v, resolve) for v in value)
    return value


_UNSET = object()


@dataclass(frozen=True)
class Default:
    """A recorded property the model did not hold a value of: its default (read then, for a model that holds one)."""

    value: Any


def holds(model: Any, name: str) -> bool:
    """Whether Bokeh holds a value set for the property (else reading it computes its default)."""
    held = getattr(model, "_property_values", None)
    return not isinstance(held, dict) or name in held


def current(model: Any, name: str) -> Any:
    """A property's value, read from the values Bokeh holds for the model when it is there (a property read
    through its descriptor computes its default, tens of microseconds; Bokeh 3 keeps set values in
    ``_property_values``)."""
    held = getattr(model, "_property_values", None)
    value = held.get(name, _UNSET) if isinstance(held, dict) else _UNSET
    return getattr(model, name) if value is _UNSET else value


def equal(current: Any, value: Any) -> bool:
    """Whether a property already holds ``value``; False whenever that is not cheap and certain to tell."""
    import numpy as np

    if isinstance(value, np.ndarray | dict) or isinstance(current, np.ndarray | dict):
        return False  # data: set, HoloViews set it
    if isinstance(value, list | tuple):
        if not isinstance(current, list | tuple) or len(current) != len(value):
            return False
        return all(equal(c, v) for c, v in zip(current, value, strict=True))
    if type(current) is not type(value):
        return False
    if isinstance(value, str | int | float | bool | None):
        return current == value  # NaN is never equal: set
    return current is value  # models (resolved references), frozen value specs


def nbytes_of(value: Any) -> int:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, ModelSpec):
        return nbytes_of(value.fields)
    if isinstance(value, Default):
        return nbytes_of(value.value)
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values()) + 64
    if isinstance(value, list | tuple):
        return sum(nbytes_of(v) for v in value) + 56
    return 32
