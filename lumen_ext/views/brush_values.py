"""What a brush gesture selects, as column values: the mapping from a Bokeh Figure's axis coordinates to filters.

BokehJS reports a gesture (``SelectionGeometry``) in data coordinates of the Figure's scales. A factor axis gives the
list of factors the gesture covers (BokehJS's ``FactorRange`` layout), a datetime axis a range of timestamps, or of
calendar dates for a DATE column, a numeric axis a range of numbers (of whole numbers, for an integer column).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["axis_value", "brush_value", "covered_factors"]


def brush_value(brush: Any, figure: Any, geometry: dict[str, Any], data: Any) -> dict[str, Any] | None:
    """The column values a gesture selects, per brushed field, or None when it selects nothing.

    ``brush`` is a :class:`lumen_ext.views.crossfilter.Brush` (its ``kind`` and ``fields``).
    """
    kind = geometry.get("type")
    axes: list[tuple[str, Any, tuple[float, float]]] = []
    if kind == "rect":
        x_range = (geometry["x0"], geometry["x1"])
        y_range = (geometry["y0"], geometry["y1"])
    elif kind == "point":
        x_range = (geometry["x"], geometry["x"])
        y_range = (geometry["y"], geometry["y"])
    else:
        return None
    if brush.kind == "point":
        # A categorical bar chart: the factor axis is x, or y for horizontal bars.
        from bokeh.models import FactorRange

        on_y = isinstance(figure.y_range, FactorRange) and not isinstance(figure.x_range, FactorRange)
        axes.append(
            (brush.fields[0], figure.y_range if on_y else figure.x_range, y_range if on_y else x_range)
        )
    else:
        axes.append((brush.fields[0], figure.x_range, x_range))
        if brush.kind == "xy":
            axes.append((brush.fields[1], figure.y_range, y_range))
    value: dict[str, Any] = {}
    for name, axis_range, (low, high) in axes:
        column = data[name] if data is not None and name in getattr(data, "columns", ()) else None
        selected = axis_value(axis_range, _is_datetime_axis(figure, axis_range), low, high, column)
        if selected is None:
            return None
        value[name] = selected
    return value


def _is_datetime_axis(figure: Any, axis_range: Any) -> bool:
    from bokeh.models import DatetimeAxis

    axes = figure.below + figure.above if axis_range is figure.x_range else figure.left + figure.right
    return any(isinstance(axis, DatetimeAxis) for axis in axes)


def axis_value(axis_range: Any, is_datetime: bool, low: float, high: float, column: Any) -> Any:
    """What ``[low, high]`` on an axis selects in ``column``: factors, a datetime or date range, a number range."""
    from bokeh.models import FactorRange

    low, high = min(low, high), max(low, high)
    if isinstance(axis_range, FactorRange):
        factors = covered_factors(axis_range.factors, axis_range.factor_padding, low, high)
        if not factors:
            return None
        # Factors are the column's values as text; the filter needs the values themselves.
        by_text = {str(v): v for v in _unique(column)} if column is not None else {}
        return [by_text.get(f, f) for f in factors]
    if is_datetime:
        import pandas as pd

        start, end = pd.Timestamp(low, unit="ms"), pd.Timestamp(high, unit="ms")
        if column is not None and _holds_dates(column):
            # A DATE column: the days whose position (midnight) the interval covers.
            first = (start.ceil("D")).date()
            last = end.floor("D").date()
            return (first, last) if first <= last else None
        return (start.to_pydatetime(), end.to_pydatetime())
    if column is not None and getattr(column.dtype, "kind", "") in "iu":
        first, last = math.ceil(low), math.floor(high)
        return (first, last) if first <= last else None
    return (float(low), float(high))


def covered_factors(factors: Iterable[Any], padding: float, low: float, high: float) -> list[Any]:
    """The single-level factors whose band BokehJS draws over ``[low, high]`` (``FactorRange``: factor ``i`` is
    centred at ``0.5 + i * (1 + factor_padding)``, one unit wide); a point selects the band it falls in."""
    covered = []
    for i, factor in enumerate(factors):
        if not isinstance(factor, str):
            continue  # nested factors (bars grouped by a second column) are not a brush in this version
        centre = 0.5 + i * (1 + padding)
        if low == high:
            if centre - 0.5 <= low <= centre + 0.5:
                covered.append(factor)
        elif low <= centre <= high:
            covered.append(factor)
    return covered


def _unique(column: Any) -> list[Any]:
    try:
        return list(column.dropna().unique())
    except (AttributeError, TypeError):
        return []


def _holds_dates(column: Any) -> bool:
    """Calendar dates (DuckDB DATE arrives as ``datetime.date`` objects), not timestamps."""
    values = column.dropna()
    if not len(values):
        return False
    first = values.iloc[0]
    return isinstance(first, dt.date) and not isinstance(first, dt.datetime)
