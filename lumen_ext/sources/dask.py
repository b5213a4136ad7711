"""``type: dask``: file tables read, filtered and reduced by Dask, computed once on the operator's scheduler.

Lumen's ``file`` source can read through Dask (``use_dask``), but it persists every table in the server's
memory and computes on the threaded scheduler, so it cannot use a cluster, and the pipeline's transforms
then run on the whole filtered table in pandas. :class:`DaskSource` keeps everything lazy instead: the read
(Parquet, CSV or JSON; one file, a glob or a URL), the filters, and under lumen-ext's stage cache the
pipeline's leading ``filter``/``columns``/``aggregate`` transforms form one graph, computed once on the
scheduler :mod:`lumen_ext.sources.cluster` was configured with. Only the (usually small) result comes back
to the server, where the cache keeps it and any remaining transforms (a sort, a rename) run in pandas.

The spec cannot choose the scheduler: that is operator configuration (``--dask-scheduler``). Results equal
Lumen's pandas path except for the row labels of row-level results: Dask numbers each partition's rows from 0,
so the file-wide labels pandas keeps do not exist, and the computed rows are renumbered from 0 (as DuckDB's).
Aggregated results keep pandas' index and order exactly.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, NamedTuple

import param
from lumen.sources.base import FileSource, cached_schema
from lumen.transforms.base import Aggregate, Columns, Filter

from lumen_ext.sources import cluster
from lumen_ext.sources.lazy import SourcePushdown

__all__ = ["DaskSource"]

_READERS = {"csv": "read_csv", "parquet": "read_parquet", "parq": "read_parquet", "json": "read_json"}

# Group-by reductions Dask computes as a tree (per partition, then combined): the same numbers as pandas with
# only one small frame per partition moving. Others (median, quantiles, nunique) need a shuffle.
_TREE_REDUCTIONS = frozenset({"count", "first", "last", "max", "mean", "min", "prod", "std", "sum", "var"})


class _FileFacts(NamedTuple):
    """What a Parquet file's metadata says about its columns, so the schema need not compute it."""

    ranges: dict[str, tuple[Any, Any, bool]]  # column -> (min, max, has missing values)
    categories: dict[str, list[Any]]  # dictionary-encoded column -> its values


_NO_FACTS = _FileFacts({}, {})


class DaskSource(FileSource):
    """Parquet, CSV and JSON tables computed by Dask on the server's Dask scheduler (``lumen-ext serve
    --dask-scheduler``): filters and the pipeline's leading filter, columns and aggregate transforms run there
    as one graph, and only the result comes back. Paths resolve like a ``file`` source's; on a remote
    cluster the workers must be able to read them (shared storage or URLs)."""

    dask = param.Boolean(
        default=False,
        doc="Whether get() returns the lazy Dask DataFrame instead of computing it (Lumen's `dask` option).",
    )

    use_dask = param.Boolean(default=True, doc="Ignored: a dask source always reads through Dask.")

    source_type: ClassVar[str] = "dask"

    # One partition per Parquet row group, the unit its writer chose to read in parallel: Dask's own default
    # may read a whole multi-GB file as one partition, which one worker then has to hold in memory alone.
    _dask_kwargs: ClassVar[dict[str, dict[str, Any]]] = {
        "csv": {"parse_dates": True},
        "parquet": {"split_row_groups": True},
        "parq": {"split_row_groups": True},
    }

    # -- reading ------------------------------------------------------------------------------------------

    def lazy_frame(self, table: str, query: dict[str, Any] | None = None) -> Any:
        """The table as a Dask DataFrame with the filter ``query`` applied; nothing is read yet."""
        import dask
        import dask.dataframe as dd

        named = self._named_files
        if table not in named:
            raise ValueError(f"Table '{table}' not found. Available tables include: {list(named)}.")
        filepath, ext = named[table]
        reader = _READERS.get(str(ext).lower() if ext else "")
        if reader is None:
            raise ValueError(
                f"a dask source reads {', '.join(sorted(_READERS))} files, not {ext!r} ({filepath}); "
                "use a `file` source for it"
            )
        if not isinstance(filepath, os.PathLike) and "://" not in str(filepath):
            filepath = self.root / filepath
        kwargs = {**self._dask_kwargs.get(str(ext).lower(), {}), **(self.kwargs or {})}
        # Through Lumen's own template resolution, so lumen-ext's path guard (security.runtime) checks it.
        paths = [
            os.fspath(p) if isinstance(p, os.PathLike) else p for p in self._resolve_template_vars(filepath)
        ]
        # Dask would turn text columns into its own `string[pyarrow]` dtype (missing = pd.NA); leaving the
        # parsing to pandas gives the same dtypes as Lumen's pandas path (pandas 3: `str`, missing = NaN).
        with dask.config.set({"dataframe.convert-string": False}):
            frame = getattr(dd, reader)(paths if len(paths) > 1 else paths[0], **kwargs)
            if query:
                frame = Filter.apply_to(frame, conditions=list(query.items()))
        return frame

    def get(self, table: str, **query: Any) -> Any:
        """The filtered table, computed on the configured scheduler (lazy when ``dask`` is set)."""
        lazy = query.pop("__dask", self.dask)
        query.pop("sql_transforms", None)  # never sent: this source does not support SQL
        frame = self.lazy_frame(table, query)
        if lazy:
            return frame
        return _finish(compute(frame), [])

    @cached_schema
    def get_schema(
        self, table: str | None = None, limit: int | None = None, shuffle: bool = False
    ) -> dict[str, Any]:
        """Lumen's JSON schema of each table (min/max, categories), computed in one pass on the scheduler."""
        schemas = {}
        for name in self.get_tables():
            if table is not None and name != table:
                continue
            frame = self.lazy_frame(name)  # first: it runs the path check lumen-ext's guard adds
            if limit:
                frame = frame.head(limit, npartitions=-1, compute=False)
            schemas[name] = _schema(frame, _NO_FACTS if limit else self._parquet_facts(name))
        if table is None:
            return schemas
        if table not in schemas:
            raise ValueError(f"{self.name} has no table {table!r}; it has {list(schemas)}")
        return schemas[table]

    def _parquet_facts(self, table: str) -> _FileFacts:
        """Schema facts a local Parquet file states without its data being read.

        Every Pipeline asks for its table's schema when it is built, and Lumen's way of getting it reads every
        column of the whole table. A Parquet footer already has each column's min, max and null count per row
        group, and a dictionary column's values are in its dictionary pages. Columns some row group has no
        statistics for are left out (and computed).
        """
        filepath, ext = self._named_files[table]
        if str(ext).lower() not in ("parquet", "parq") or "://" in str(filepath) or "${" in str(filepath):
            return _NO_FACTS
        path = filepath if os.path.isabs(filepath) else self.root / filepath
        if not os.path.isfile(path):  # a glob or a partitioned folder: leave it to Dask
            return _NO_FACTS
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
        ranges: dict[str, tuple[Any, Any, bool]] = {}
        for j in range(metadata.num_columns):
            name = metadata.schema.column(j).path
            lows, highs, nulls = [], [], False
            for i in range(metadata.num_row_groups):
                stats = metadata.row_group(i).column(j).statistics
                if stats is None or not stats.has_min_max or not stats.has_null_count:
                    break
                lows.append(stats.min)
                highs.append(stats.max)
                nulls = nulls or stats.null_count > 0
            else:
                if lows:
                    ranges[name] = (min(lows), max(highs), nulls)
        categories: dict[str, list[Any]] = {}
        dictionaries = [f.name for f in parquet.schema_arrow if pa.types.is_dictionary(f.type)]
        if dictionaries:
            # Reads only the small integer codes and the dictionaries of these columns.
            columns = parquet.read(columns=dictionaries)
            for name in dictionaries:
                seen: dict[
                    Any, None
                ] = {}  # pandas lists the values of every row group's dictionary, in order
                for chunk in columns.column(name).chunks:
                    seen.update(dict.fromkeys(chunk.dictionary.to_pylist()))
                categories[name] = list(seen)
        return _FileFacts(ranges, categories)

    # -- the stage cache's pushdown (lumen_ext.sources.lazy) ------------------------------------------------

    def lumen_ext_pushdown(self, table: str, query: dict[str, Any], transforms: list[Any]) -> SourcePushdown:
        """One Dask graph for the read, the filters and the leading transforms it can reduce exactly."""
        pushed, reasons = pushable(transforms)
        steps = list(transforms[:pushed])
        query = dict(query)

        def run() -> Any:
            frame = self.lazy_frame(table, query)
            for transform in steps:
                frame = transform.apply(frame)
            return _finish(compute(frame), steps)

        names = ", ".join(type(t).__name__.lower() for t in steps) or "no transform"
        detail = f"read + filters + {names} as one Dask graph on {cluster.describe()}"
        return SourcePushdown("dask", pushed, run, detail, reasons)


def pushable(transforms: list[Any]) -> tuple[int, list[str]]:
    """How many leading transforms Dask runs exactly as pandas would, and why it stops there.

    Filters and column selections, then at most one aggregation (the result is small, and whatever follows,
    a sort for instance, is cheaper in pandas over it, where it can also be re-run from the cache alone).
    Exact classes only: a subclass may override ``apply`` with code Dask cannot run.
    """
    for i, transform in enumerate(transforms):
        kind = type(transform)
        if kind in (Filter, Columns):
            continue
        if kind is Aggregate:
            if transform.method in _TREE_REDUCTIONS and not transform.kwargs and transform.by:
                return i + 1, _rest(transforms, i + 1, "it follows the aggregation, over its small result")
            why = f"aggregate method {transform.method!r}" + (" with kwargs" if transform.kwargs else "")
            return i, _rest(transforms, i, f"{why} is not a tree reduction in Dask")
        return i, _rest(transforms, i, f"Dask runs only filter, columns and aggregate, not {kind.__name__}")
    return len(transforms), []


def _rest(transforms: list[Any], start: int, why: str) -> list[str]:
    if start >= len(transforms):
        return []
    return [f"transforms from {start} ({type(transforms[start]).__name__}) run in pandas: {why}"]


def compute(frame: Any) -> Any:
    import dask

    (result,) = dask.compute(frame, scheduler=cluster.scheduler())
    return result


def _finish(result: Any, steps: list[Any]) -> Any:
    """Give the computed frame the row order and index pandas would have produced."""
    last = steps[-1] if steps else None
    if isinstance(last, Aggregate):
        # pandas' groupby sorts by the keys; Dask's combine step does not promise any order.
        if last.with_index:
            return result.sort_index()
        return result.sort_values(list(last.by), kind="stable").reset_index(drop=True)
    return result.reset_index(drop=True)


def _schema(frame: Any, facts: _FileFacts) -> dict[str, Any]:
    """What ``lumen.util.get_dataframe_schema`` gives for the frame, with every statistic in one compute.

    What the file's metadata already says (``facts``, see ``DaskSource._parquet_facts``) is not computed again.
    """
    import dask
    import pandas as pd

    known, categories = facts
    wanted: dict[str, Any] = {}
    for name, dtype in frame.dtypes.items():
        column = frame[name]
        if dtype.kind in "uifM":
            if name not in known:
                wanted[name] = (column.min(), column.max())
        elif isinstance(dtype, pd.CategoricalDtype) and (len(dtype.categories) or name in categories):
            continue
        elif dtype.kind == "O":
            # A Parquet dictionary column arrives as a category without categories in Dask's metadata; the
            # computed partitions carry the file's dictionary, which is what pandas would list.
            wanted[name] = column.dropna().unique()
    (stats,) = dask.compute(wanted, scheduler=cluster.scheduler()) if wanted else ({},)
    properties: dict[str, Any] = {}
    for name, dtype in frame.dtypes.items():
        if dtype.kind in "uifM":
            vmin, vmax, nulls = (*stats[name], False) if name in stats else known[name]
            if dtype.kind == "M":
                properties[name] = {
                    "type": "string",
                    "inclusiveMinimum": pd.Timestamp(vmin).isoformat(),
                    "inclusiveMaximum": pd.Timestamp(vmax).isoformat(),
                    "format": "datetime",
                }
                continue
            # pandas reads an integer column with missing values as float64 (Dask's metadata says int).
            floating = dtype.kind == "f" or nulls
            cast, kind = (float, "number") if floating else (int, "integer")
            try:
                vmin, vmax = cast(vmin), cast(vmax)
            except (TypeError, ValueError):  # an empty or all-missing column
                vmin, vmax = float("nan"), float("nan")
            properties[name] = {"type": kind, "inclusiveMinimum": vmin, "inclusiveMaximum": vmax}
        elif dtype.kind == "b":
            properties[name] = {"type": "boolean"}
        elif isinstance(dtype, pd.CategoricalDtype) and name not in stats:
            values = dtype.categories if len(dtype.categories) else categories[name]
            properties[name] = {"type": "string", "enum": list(values)}
        elif dtype.kind == "O":
            values = stats[name]
            if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype) and len(
                values.dtype.categories
            ):
                values = values.dtype.categories
            properties[name] = {"type": "string", "enum": list(values)}
    return properties
