"""What a Bokeh plot shows, as plain data: two Figures with equal descriptions draw the same thing.

Used to compare a patched Figure with a Figure freshly rebuilt from the same HoloViews object. Every Bokeh model
reachable from the Figure is described by its type and non-default properties, recursively, with model ids left
out (a rebuild makes new ones) and each model described once (later references name its type only).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

# Properties that differ between two renders of the same plot without changing what it shows.
IGNORED = {
    "id",
    # Set on a Figure in a live layout by Panel's loading spinner (a class added, then removed).
    "css_classes",
    # HoloViews holds a Figure's rendering while it updates one (bokeh/element.py) and sets it back to False.
    "hold_render",
    # Bokeh's selection state of a source (indices the user picked): empty in both, but a patched source keeps
    # an object the rebuilt one creates afresh.
    "selected",
    "selection_policy",
}


def describe(model: Any) -> Any:
    return _describe(model, set())


def _describe(value: Any, seen: set[str]) -> Any:
    import numpy as np
    from bokeh.model import Model

    if isinstance(value, Model):
        if value.id in seen:
            return f"<{type(value).__name__}>"
        seen.add(value.id)
        props = value.properties_with_values(include_defaults=False)
        return {
            "type": type(value).__name__,
            **{k: _describe(v, seen) for k, v in sorted(props.items()) if k not in IGNORED},
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Bokeh's Field/Value specs, e.g. a fill colour mapped through a colour mapper model.
        fields = {f.name: _describe(getattr(value, f.name), seen) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, dict):
        return {str(k): _describe(v, seen) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_describe(v, seen) for v in value]
    if isinstance(value, np.ndarray):
        return [_describe(v, seen) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _describe(value.item(), seen)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return repr(value)


def differences(a: Any, b: Any, path: str = "", limit: int = 12) -> list[str]:
    """Human-readable paths where two descriptions differ (at most ``limit``)."""
    out: list[str] = []

    def walk(x, y, where):
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                walk(x.get(key, "<missing>"), y.get(key, "<missing>"), f"{where}.{key}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
                walk(xi, yi, f"{where}[{i}]")
        elif x != y:
            out.append(f"{where}: {str(x)[:200]} != {str(y)[:200]}")

    walk(a, b, path)
    return out
