"""Where a Bokeh model sits in a plot: its path from the Figure, which is the same on every plot HoloViews
initialised from one object, so a drawing recorded on one plot names the models of another
(:mod:`lumen_ext.views.drawings`)."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["ModelPath", "model_paths", "models_in", "property_names"]

# A model's place in a plot: from the Figure, (reference property, position among the models it holds) per step.
ModelPath = tuple[tuple[str, int], ...]


_PROPERTY_NAMES: dict[type, frozenset[str]] = {}


def property_names(cls: type) -> frozenset[str]:
    names = _PROPERTY_NAMES.get(cls)
    if names is None:
        names = _PROPERTY_NAMES[cls] = frozenset(cls.properties())
    return names


_REF_PROPS: dict[type, tuple[str, ...]] = {}


def _ref_props(cls: type) -> tuple[str, ...]:
    names = _REF_PROPS.get(cls)
    if names is None:
        names = _REF_PROPS[cls] = tuple(sorted(cls.properties_with_refs()))
    return names


def models_in(value: Any) -> list[Any]:
    """The models a property value holds, in a fixed order."""
    from bokeh.model import Model

    if isinstance(value, Model):
        return [value]
    if isinstance(value, list | tuple):
        return [m for item in value for m in models_in(item)]
    if isinstance(value, dict):
        return [m for _, item in sorted(value.items(), key=lambda kv: str(kv[0])) for m in models_in(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [m for f in dataclasses.fields(value) for m in models_in(getattr(value, f.name))]
    return []


def model_paths(figure: Any) -> dict[str, tuple[ModelPath, str]]:
    """Every model reachable from ``figure``: its id -> (its first path, breadth first, and its type's name)."""
    found: dict[str, tuple[ModelPath, str]] = {figure.id: ((), type(figure).__name__)}
    queue = [(figure, ())]
    for model, path in queue:
        for name in _ref_props(type(model)):
            for i, child in enumerate(models_in(getattr(model, name))):
                if child.id not in found:
                    child_path = (*path, (name, i))
                    found[child.id] = (child_path, type(child).__name__)
                    queue.append((child, child_path))
    return found
