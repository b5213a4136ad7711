"""The one vocabulary of column types a lock file records, and how each reader's types map onto it.

The names are Lumen's schema types (``lumen.util.get_dataframe_schema``: ``integer``, ``number``, ``boolean``,
``string``, and ``string`` with ``format: datetime``, here ``datetime``), plus ``duration`` and ``other`` for
what Lumen's schema has no name for (time of day, binary, nested values). A type says what kind of values the
column holds, whichever reader found it: an integer column with a missing value is still ``integer`` (pandas'
nullable dtypes, Arrow's and DuckDB's own types), a date is a ``datetime``, a dictionary-encoded or ``ENUM``
column a ``string``. So the same data reads as the same types from CSV, Parquet and DuckDB, and a change of
type in the lock means the data changed kind, not that a reader widened it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["TYPES", "arrow_type", "duckdb_type", "pandas_type"]

TYPES = ("integer", "number", "boolean", "string", "datetime", "duration", "other")

_DUCKDB_INTEGERS = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
    "INT1", "INT2", "INT4", "INT8", "INT", "LONG", "SHORT", "SIGNED",
}  # fmt: skip
_DUCKDB_NUMBERS = {"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8", "DECIMAL", "NUMERIC"}
_DUCKDB_STRINGS = {"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "UUID", "ENUM"}
_DUCKDB_DATETIMES = {"DATE", "TIMESTAMP", "DATETIME", "TIMESTAMPTZ"}
# `DECIMAL(18,3)`, `ENUM('a', 'b')`, `TIMESTAMP WITH TIME ZONE`, `TIMESTAMP_NS`: the leading word decides.
_LEADING_WORD = re.compile(r"^[A-Z0-9]+")


def duckdb_type(name: str) -> str:
    """The type of a column DuckDB's ``DESCRIBE`` reports as ``name``."""
    upper = name.strip().upper()
    if upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION")):
        return "other"  # lists, arrays and nested values
    m = _LEADING_WORD.match(upper)
    word = m.group(0) if m else upper
    if word in _DUCKDB_INTEGERS:
        return "integer"
    if word in _DUCKDB_NUMBERS:
        return "number"
    if word == "BOOLEAN" or word == "BOOL":
        return "boolean"
    if word in _DUCKDB_STRINGS:
        return "string"
    if word in _DUCKDB_DATETIMES or word.startswith("TIMESTAMP"):
        return "datetime"
    if word == "INTERVAL":
        return "duration"
    return "other"  # TIME, BLOB, BIT, ...


def arrow_type(t: Any) -> str:
    """The type of a column of Arrow type ``t`` (a Parquet file's schema, read from its footer)."""
    import pyarrow as pa

    types = pa.types
    if types.is_dictionary(t):
        return arrow_type(t.value_type)
    if types.is_integer(t):
        return "integer"
    if types.is_floating(t) or types.is_decimal(t):
        return "number"
    if types.is_boolean(t):
        return "boolean"
    if types.is_string(t) or types.is_large_string(t) or getattr(types, "is_string_view", lambda _: False)(t):
        return "string"
    if types.is_timestamp(t) or types.is_date(t):
        return "datetime"
    if types.is_duration(t):
        return "duration"
    return "other"


def pandas_type(dtype: Any) -> str:
    """The type of a pandas column of ``dtype`` (read with nullable dtypes, so a missing value changes nothing)."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return pandas_type(dtype.categories.dtype)
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return "integer"
    if kind in "fc":
        return "number"
    if kind == "b":
        return "boolean"
    if kind == "M":
        return "datetime"
    if kind == "m":
        return "duration"
    if kind in "OSU":
        return "string"  # strings (pandas' `str` dtype and objects); Lumen's schema calls both `string`
    return "other"
