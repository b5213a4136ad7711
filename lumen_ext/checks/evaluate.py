"""Data assertions of a checks file, evaluated on the data itself (a pandas DataFrame).

Each assertion gives one :class:`Outcome`: what was asserted, in words, whether it held, and what was found. The
outcome keeps the assertion's path in the checks file (``("pipelines", "events", "values", "mag", "max")``), so
the caller can say on which line of which file it was declared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lumen_ext.checks.models import DataChecks, ValueRule

__all__ = ["Outcome", "dtype_kind_matches", "evaluate"]

EXAMPLES = 3  # offending values quoted in a failure


@dataclass(frozen=True, slots=True)
class Outcome:
    path: tuple[Any, ...]  # where the assertion is written in the checks file
    name: str  # what was asserted, e.g. "pipeline events: mag <= 9.5"
    ok: bool
    detail: str  # what was found


def dtype_kind_matches(kind: str, column: pd.Series) -> bool:
    """Whether ``column`` holds the kind of data ``kind`` names (``DTYPE_KINDS``)."""
    dtype = column.dtype
    api = pd.api.types
    if kind == "any":
        return True
    if kind == "bool":
        return api.is_bool_dtype(dtype)
    if kind in ("int", "float", "number") and api.is_bool_dtype(dtype):
        return False  # pandas counts booleans as numbers; a spec author does not
    if kind == "int":
        return api.is_integer_dtype(dtype)
    if kind == "float":
        return api.is_float_dtype(dtype)
    if kind == "number":
        return api.is_numeric_dtype(dtype)
    if kind == "datetime":
        return api.is_datetime64_any_dtype(dtype) or _holds_dates(column)
    if kind == "category":
        return isinstance(dtype, pd.CategoricalDtype)
    if kind == "string":
        # pandas' string dtypes, or object columns holding only strings (and nulls): what CSV and SQL give
        return api.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
    raise ValueError(f"unknown kind of column {kind!r}")


def _holds_dates(column: pd.Series) -> bool:
    """An object column of ``datetime.date`` values: what DuckDB's DATE and Python's date objects give pandas."""
    if column.dtype != object:
        return False
    present = column.dropna()
    return len(present) > 0 and all(isinstance(v, dt.date) for v in present)


def evaluate(checks: DataChecks, frame: pd.DataFrame, what: str, path: tuple[Any, ...]) -> list[Outcome]:
    """Every assertion of ``checks`` on ``frame``; ``what`` names the data ("pipeline events")."""
    out: list[Outcome] = []
    for column, kind in (checks.columns or {}).items():
        out.append(_column_kind(frame, column, kind, what, (*path, "columns", column)))
    if checks.not_empty:
        out.append(
            Outcome((*path, "not_empty"), f"{what}: not empty", len(frame) > 0, f"{len(frame):,} rows")
        )
    if checks.rows is not None:
        out.append(_rows(frame, checks.rows.min, checks.rows.max, what, (*path, "rows")))
    if checks.unique is not None:
        out.append(_unique(frame, checks.unique_key(), what, (*path, "unique")))
    for column, rule in (checks.values or {}).items():
        out.extend(_values(frame, column, rule, what, (*path, "values", column)))
    return out


def _missing(frame: pd.DataFrame, columns: Iterable[str]) -> str | None:
    absent = [c for c in columns if c not in frame.columns]
    if not absent:
        return None
    names = ", ".join(f"`{c}`" for c in absent)
    return f"no column {names} in the data (it has {', '.join(map(str, frame.columns))})"


def _column_kind(frame: pd.DataFrame, column: str, kind: str, what: str, path: tuple) -> Outcome:
    name = f"{what}: column `{column}` is {kind}"
    missing = _missing(frame, [column])
    if missing:
        return Outcome(path, name, False, missing)
    series = frame[column]
    return Outcome(path, name, dtype_kind_matches(kind, series), f"dtype {series.dtype}")


def _rows(frame: pd.DataFrame, low: int | None, high: int | None, what: str, path: tuple) -> Outcome:
    bounds = [f"{low:,} <=" if low is not None else "", "rows", f"<= {high:,}" if high is not None else ""]
    n = len(frame)
    ok = (low is None or n >= low) and (high is None or n <= high)
    return Outcome(path, f"{what}: {' '.join(b for b in bounds if b)}", ok, f"{n:,} rows")


def _unique(frame: pd.DataFrame, key: list[str], what: str, path: tuple) -> Outcome:
    name = f"{what}: unique {', '.join(key)}" if len(key) == 1 else f"{what}: unique ({', '.join(key)})"
    missing = _missing(frame, key)
    if missing:
        return Outcome(path, name, False, missing)
    repeated = frame.loc[frame.duplicated(subset=key, keep="first"), key]
    if repeated.empty:
        return Outcome(path, name, True, f"{len(frame):,} distinct keys")
    examples = [
        tuple(row) if len(key) > 1 else row[0] for row in repeated.head(EXAMPLES).itertuples(index=False)
    ]
    return Outcome(
        path, name, False, f"{len(repeated):,} rows repeat a key, e.g. {', '.join(map(_show, examples))}"
    )


def _values(frame: pd.DataFrame, column: str, rule: ValueRule, what: str, path: tuple) -> list[Outcome]:
    wanted = []
    if rule.min is not None:
        wanted.append(("min", f"`{column}` >= {_show(rule.min)}"))
    if rule.max is not None:
        wanted.append(("max", f"`{column}` <= {_show(rule.max)}"))
    if rule.in_ is not None:
        wanted.append(("in", f"`{column}` in {_show(rule.in_)}"))
    if rule.not_null:
        wanted.append(("not_null", f"`{column}` has no nulls"))
    missing = _missing(frame, [column])
    if missing:
        return [Outcome((*path, key), f"{what}: {label}", False, missing) for key, label in wanted]
    series = frame[column]
    return [
        Outcome((*path, key), f"{what}: {label}", *_value_check(series, key, rule)) for key, label in wanted
    ]


def _value_check(series: pd.Series, key: str, rule: ValueRule) -> tuple[bool, str]:
    if key in ("min", "max") and _holds_dates(series):
        series = pd.to_datetime(series)  # comparable with a date bound, as a datetime64 column is
    present = series.dropna()
    if key == "not_null":
        nulls = int(series.isna().sum())
        return nulls == 0, f"{nulls:,} of {len(series):,} values missing"
    if key == "in":
        allowed = set(rule.in_ or [])
        outside = present[~present.isin(list(allowed))]
        if outside.empty:
            return True, f"{present.nunique():,} distinct values, all allowed"
        shown = ", ".join(_show(v) for v in outside.unique()[:EXAMPLES])
        return False, f"{len(outside):,} values outside the allowed ones, e.g. {shown}"
    bound = rule.min if key == "min" else rule.max
    try:
        comparable = _comparable(bound, series)
        bad = present[present < comparable] if key == "min" else present[present > comparable]
    except (TypeError, ValueError) as exc:
        return False, f"{_show(bound)} cannot be compared with values of dtype {series.dtype} ({exc})"
    if present.empty:
        return True, "no values"
    extreme = present.min() if key == "min" else present.max()
    if bad.empty:
        return True, f"{'smallest' if key == 'min' else 'largest'} {_show(extreme)}"
    side, word = ("below", "smallest") if key == "min" else ("above", "largest")
    return False, f"{len(bad):,} of {len(series):,} values {side} {_show(bound)}; {word} {_show(extreme)}"


def _comparable(bound: Any, series: pd.Series) -> Any:
    """``bound`` in the column's terms: a timestamp (in the column's time zone) for datetime columns."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamp = pd.Timestamp(bound)
        tz = getattr(series.dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        return stamp
    if pd.api.types.is_numeric_dtype(series.dtype) and isinstance(bound, str):
        raise ValueError("a number column needs a number bound")
    return bound


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, pd.Timestamp):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return str(value)
