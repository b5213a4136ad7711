"""The dtypes Lumen's reader gives the columns of a whole Parquet file, read from its footer (and, for
dictionary columns, their categories), and which Arrow types the file scan converts the way pandas does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["reader_dtypes", "supported_type"]


def supported_type(pa: Any, t: Any) -> bool:
    types = pa.types
    if types.is_dictionary(t):
        return types.is_string(t.value_type) or types.is_large_string(t.value_type)
    return (
        types.is_integer(t)
        or (types.is_floating(t) and not types.is_float16(t))
        or types.is_boolean(t)
        or types.is_string(t)
        or types.is_large_string(t)
        or (types.is_timestamp(t) and t.tz is None)
    )


def reader_dtypes(path: str, pfile: Any, schema: Any, dask: bool) -> dict[str, Any]:
    """The dtype Lumen's reader (pandas, or dask for ``use_dask``) gives each column of the whole file."""
    import pyarrow as pa

    if dask:
        import dask.dataframe as dd

        # Building the collection reads only the footer; `_meta` is the empty frame of its dtypes.
        dtypes = dict(dd.read_parquet(path)._meta.dtypes)
    else:
        dtypes = dict(schema.empty_table().to_pandas().dtypes)
    nulls = _null_counts(pfile)
    categorical = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    if categorical:
        # The categories (and their order) of the whole file, as the reader unifies them across row groups.
        read = pd.read_parquet(path, columns=categorical)
        dtypes.update({c: read[c].dtype for c in categorical})
    for f in schema:
        if nulls.get(f.name, 1) == 0 or isinstance(dtypes[f.name], pd.api.extensions.ExtensionDtype):
            continue
        # numpy cannot hold a null: pandas widens the whole column as soon as one row has one.
        kind = np.dtype(dtypes[f.name]).kind
        if kind in "iu":
            dtypes[f.name] = np.dtype("float64")
        elif kind == "b":
            dtypes[f.name] = np.dtype("object")
    return dtypes


def _null_counts(pfile: Any) -> dict[str, int]:
    """Nulls per top-level column from the footer statistics; a column without statistics is left out."""
    md = pfile.metadata
    counts: dict[str, int] = {}
    unknown: set[str] = set()
    for r in range(md.num_row_groups):
        group = md.row_group(r)
        for c in range(group.num_columns):
            col = group.column(c)
            name = col.path_in_schema
            stats = col.statistics
            if stats is None or not stats.has_null_count:
                unknown.add(name)
            else:
                counts[name] = counts.get(name, 0) + stats.null_count
    return {k: v for k, v in counts.items() if k not in unknown}
