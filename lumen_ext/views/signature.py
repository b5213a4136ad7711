"""What a HoloViews object looks like apart from its data: two objects with equal signatures draw the same plot.

A rebuilt plot and a patched one are the same thing only when everything HoloViews turns into Bokeh models other
than the data sources is equal: the element types and their nesting, the overlay keys (one legend entry and one
colour per key), the dimensions (axis labels, hover fields) and every plot, style and norm option. The signature
captures exactly that, so a plot is patched only when its new HoloViews object differs from the current one in its
data alone. Anything it cannot describe faithfully makes :func:`signature` return ``None``, i.e. "rebuild".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PATCHABLE_ELEMENTS", "signature"]

# Element types whose Bokeh plots redraw any new data of the same shape on a frame update: their glyphs, ranges,
# factors and colour mappers are recomputed from the frame. Kept to the charts hvPlot's tabular kinds produce and
# that the tests compare against a rebuild; anything else (images, geometries, tiles, graphs, ...) is rebuilt.
PATCHABLE_ELEMENTS = frozenset(
    {
        "Area",
        "Bars",
        "BoxWhisker",
        "Curve",
        "ErrorBars",
        "HeatMap",
        "Histogram",
        "Points",
        "Scatter",
        "Spikes",
        "Spread",
        "Violin",
    }
)
_OPTION_GROUPS = ("plot", "style", "norm")


class _Unsupported(Exception):
    """Raised inside the walk when some part of the object has no faithful signature."""


def signature(obj: Any, backend: str = "bokeh") -> tuple | None:
    """A comparable description of ``obj`` without its data, or None when it must not be patched."""
    try:
        return _describe(obj, backend)
    except _Unsupported:
        return None


def _describe(obj: Any, backend: str) -> tuple:
    from holoviews import Element, NdOverlay, Overlay

    if isinstance(obj, NdOverlay):
        keys = tuple(_freeze(key) for key in obj.keys())  # noqa: SIM118 (iterating yields the layers)
        children = tuple(_describe(child, backend) for child in obj.values())
        return ("NdOverlay", _dims(obj.kdims), keys, _options(obj, backend), children)
    if isinstance(obj, Overlay):
        keys = tuple(_freeze(key) for key in obj.keys())  # noqa: SIM118 (iterating yields the layers)
        children = tuple(_describe(child, backend) for child in obj.values())
        return ("Overlay", keys, _options(obj, backend), children)
    if isinstance(obj, Element) and type(obj).__name__ in PATCHABLE_ELEMENTS:
        # The class itself, not its name: a subclass (e.g. a GeoViews one) plots differently.
        return (
            type(obj),
            obj.group,
            obj.label,
            _dims(obj.kdims),
            _dims(obj.vdims),
            _options(obj, backend),
        )
    # DynamicMaps (datashade, rasterize, groupby widgets, streams), HoloMaps, Layouts and unlisted elements.
    raise _Unsupported(type(obj).__name__)


def _dims(dims) -> tuple:
    # Every Dimension parameter: name and label (axis and hover text), unit, range, values (categorical order),
    # value_format (tick and hover formatting), ...; a data-dependent one simply makes the plot rebuild.
    return tuple(_freeze(dim.param.values()) for dim in dims)


def _options(obj: Any, backend: str) -> tuple:
    from holoviews import Store

    return tuple(_freeze(Store.lookup_options(backend, obj, group).kwargs) for group in _OPTION_GROUPS)


def _freeze(value: Any) -> Any:
    """A hashable, equality-comparable stand-in for an option or dimension value."""
    import numpy as np
    import param
    from bokeh.model import Model
    from holoviews import dim

    if value is None or isinstance(value, str | bytes | bool | int | float | complex):
        return value
    if isinstance(value, Mapping):
        return ("dict", tuple(sorted(((str(k), _freeze(v)) for k, v in value.items()), key=lambda kv: kv[0])))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(_freeze(v)) for v in value)))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, tuple(value.ravel().tolist()))
    if isinstance(value, Model):
        # A Bokeh model handed over as an option (a tick formatter, a tool) is built afresh on every rebuild;
        # it is the same option when its type and non-default properties are.
        return (type(value), _freeze(value.properties_with_values(include_defaults=False)))
    if isinstance(value, type):
        return value
    if isinstance(value, dim):
        # `==` on a dim expression builds another expression; its text is the expression.
        return ("dim", repr(value))
    if isinstance(value, param.Parameterized):
        # e.g. a HoloViews Cycle or Palette, made afresh by hvPlot on every call.
        values = {k: v for k, v in value.param.values().items() if k != "name"}
        return (type(value), _freeze(values))
    if callable(value):
        # Functions and dim expressions compare by identity: the same object is the same option; a new lambda
        # per rebuild makes the view rebuild, which is always correct.
        return ("callable", id(value))
    try:
        hash(value)
    except TypeError:
        raise _Unsupported(type(value).__name__) from None
    return value
