"""Lumen's ``Filter`` transform rules (transforms/base.py, ``Filter._apply_narwhals``) as SQL conditions, for the
file scan (:mod:`lumen_ext.cache.filescan`): a scalar is an equality, a list a membership with missing values
matching nulls on non-numeric columns, a tuple an inclusive range that NaN never satisfies. Where pandas and SQL
would compare differently (dates, a string against a numeric column, ...) it raises :class:`NotScannable`."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from lumen_ext.cache.pushdown import quote

__all__ = ["NotScannable", "filter_condition", "sql_literal"]


class NotScannable(Exception):
    """This table cannot be read through DuckDB exactly; the message says why."""

    pass


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE")


def _is_numeric_type(sql_type: str) -> bool:
    return sql_type.lstrip("U") in _NUMERIC


def _is_missing(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def _sql_value(value: Any, sql_type: str) -> str:
    """A literal comparable to a column of ``sql_type`` the way pandas compares; else not scannable."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        if sql_type != "BOOLEAN":
            raise NotScannable("boolean value on a non-boolean column")
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and _is_numeric_type(sql_type):
        if isinstance(value, float) and not math.isfinite(value):
            raise NotScannable("non-finite filter value")
        return repr(value) if isinstance(value, int) else repr(float(value))
    if isinstance(value, str) and sql_type == "VARCHAR":
        return sql_literal(value)
    # Dates and mixed kinds (a string on a numeric column, ...) compare differently in pandas and SQL.
    raise NotScannable(f"filter value {type(value).__name__} on a {sql_type} column")


def _range(col: str, sql_type: str, start: Any, end: Any) -> str | None:
    if _is_missing(start) and _is_missing(end):
        return None
    terms = []
    if not _is_missing(start):
        terms.append(f"{col} >= {_sql_value(start, sql_type)}")
    if not _is_missing(end):
        terms.append(f"{col} <= {_sql_value(end, sql_type)}")
    if sql_type in ("FLOAT", "DOUBLE"):
        terms.append(f"NOT isnan({col})")  # NaN sorts above every number in DuckDB; pandas never matches it
    return "(" + " AND ".join(terms) + ")"


def filter_condition(types: dict[str, str], name: str, value: Any) -> str | None:
    if name not in types:
        return None  # Lumen skips a condition on a column the frame does not have
    sql_type, col = types[name], quote(name)
    if sql_type.startswith(("TIMESTAMP", "DATE", "TIME")) or isinstance(value, dt.date | dt.time):
        raise NotScannable("temporal filter")
    if np.isscalar(value):
        if _is_missing(value):
            raise NotScannable("missing scalar filter value")
        return f"{col} = {_sql_value(value, sql_type)}"
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        ranges = [r for r in (_range(col, sql_type, *v) for v in value) if r is not None]
        return "(" + " OR ".join(ranges) + ")" if ranges else None
    if isinstance(value, list):
        if not value:
            return None
        members = [v for v in value if not _is_missing(v)]
        expr = f"{col} IN ({', '.join(_sql_value(v, sql_type) for v in members)})" if members else "FALSE"
        if len(members) != len(value) and not _is_numeric_type(sql_type):
            expr = f"({expr} OR {col} IS NULL)"
        return expr
    if isinstance(value, tuple) and len(value) == 2:
        return _range(col, sql_type, *value)
    raise NotScannable(f"filter value {value!r}")
