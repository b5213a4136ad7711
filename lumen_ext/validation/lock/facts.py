"""What a lock file records of one table beyond its column names: each column's type, and its row count
when that is cheap.

The names come from the validator's own reader (`lumen_ext.validation.datasources`), which also says where it
found them (a `TableOrigin`); the types come from the same place:

* Parquet: the schema and row counts in the footers (no data read);
* DuckDB: the types ``DESCRIBE`` already gave; rows for a stored table or a single Parquet file, whose count
  DuckDB answers from metadata, never for a query it would have to run;
* CSV and JSON of ``file`` sources: pandas' parse of the whole file with the source's ``kwargs``, the reader
  Lumen uses, with nullable dtypes (see `column_types`). That parse is the one costly step, so `lumen-ext
  validate` takes it only when a file's content differs from its lock (and remembers it per file version).
"""

from __future__ import annotations

import functools
import inspect
import json
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lumen_ext.validation.lock.column_types import arrow_type, duckdb_type, pandas_type

if TYPE_CHECKING:
    from lumen_ext.validation.datasources import TableOrigin

__all__ = ["TableFacts", "table_facts"]


@dataclass(frozen=True, slots=True)
class TableFacts:
    columns: dict[str, str]  # name -> type, in the data's order
    rows: int | None  # None: not counted (it would cost a query or a scan)


def table_facts(
    origin: TableOrigin, names: tuple[str, ...], stamp: str, connection: Any = None
) -> TableFacts:
    """Types (and rows) of the columns ``names`` the reader found at ``origin``.

    ``stamp`` identifies the files' version (their fingerprint): parses are remembered under it. ``connection``
    is the source's DuckDB connection, to count rows; without it rows are not counted.
    """
    if origin.kind == "duckdb":
        types = dict(zip(names, (duckdb_type(t) for t in origin.types), strict=True))
        rows = None
        if connection is not None and origin.count_sql is not None:
            rows = int(connection.execute(origin.count_sql).fetchone()[0])
        return TableFacts(types, rows)
    if origin.kind == "parquet":
        return _parquet_facts(origin, names)
    files = tuple(str(f) for f in origin.files)
    kwargs = json.dumps(origin.kwargs, sort_keys=True, default=str)
    parsed, rows = _parsed_types(origin.kind, files, kwargs, stamp)
    return TableFacts(_by_name_or_position(names, parsed), rows)


def _by_name_or_position(names: tuple[str, ...], parsed: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # The reader strips header cells (" price" is `price` to it), pandas does not: pair by position when the
    # counts agree, which they do unless the reader's options differ from pandas' (then by name).
    if len(parsed) == len(names):
        return {name: kind for name, (_, kind) in zip(names, parsed, strict=True)}
    types = dict(parsed)
    return {name: types.get(name, "other") for name in names}


def _parquet_facts(origin: TableOrigin, names: tuple[str, ...]) -> TableFacts:
    import pyarrow.dataset as ds

    dataset = ds.dataset([str(f) for f in origin.files] if len(origin.files) > 1 else str(origin.files[0]))
    schema = dataset.schema
    rows = sum(fragment.metadata.num_rows for fragment in dataset.get_fragments())
    return TableFacts({name: arrow_type(schema.field(name).type) for name in names}, rows)


@functools.lru_cache(maxsize=64)
def _parsed_types(
    kind: str, files: tuple[str, ...], kwargs_json: str, stamp: str
) -> tuple[tuple[tuple[str, str], ...], int]:
    """(name, type) of every column pandas parses from ``files``, and the row count; ``stamp`` keys the memo."""
    import pandas as pd

    read = pd.read_csv if kind == "csv" else pd.read_json
    accepted = inspect.signature(read).parameters
    kwargs = {k: v for k, v in json.loads(kwargs_json).items() if k in accepted}  # drop dask-only options
    kwargs.setdefault("dtype_backend", "numpy_nullable")
    with warnings.catch_warnings():
        # What pandas warns about while parsing (mixed types, bad lines) Lumen's own read warns about too;
        # here only the resulting dtypes matter.
        warnings.simplefilter("ignore")
        frames = [read(f, **kwargs) for f in files]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return tuple((str(n), pandas_type(t)) for n, t in frame.dtypes.items()), len(frame)
