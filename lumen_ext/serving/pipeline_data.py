"""A named pipeline's result for given filter values, computed outside any browser session.

The data endpoint and the readiness probe build Lumen objects from the spec the way a session does
(``Dashboard``'s ``validate``, variables, ``state.load_pipelines``), inside a throwaway Bokeh ``Document``
so Lumen's per-document state (LUMEN-NOTES §2.4) never mixes with a real session's. Pipelines therefore go
through the stage cache like a session's: the same filter values in a page and here share one cache entry.

Lumen's module state is not thread-safe, so one build runs at a time (``_lumen_lock``). Shared sources a
session already loaded are reused (``state.sources`` starts from ``state.global_sources``); others are
built for the request. Only pipelines named under ``pipelines:`` are reachable: views' inline pipelines
have no name a URL could give.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DataRequestError", "check_sources", "pipeline_frame", "pipeline_names", "source_table_frame"]

_lumen_lock = threading.Lock()


class DataRequestError(ValueError):
    """A request that names an unknown pipeline or filter, or a value the filter does not offer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def pipeline_names(spec: Mapping[str, Any]) -> list[str]:
    return list((spec.get("pipelines") or {}).keys())


@contextlib.contextmanager
def _lumen_document(spec_path: Path) -> Iterator[Any]:
    from bokeh.document import Document
    from lumen.config import load_yaml
    from lumen.dashboard import Dashboard
    from lumen.state import state
    from lumen.variables.base import Variables
    from panel.io.state import set_curdoc

    with _lumen_lock, set_curdoc(Document()):
        state.spec = Dashboard.validate(load_yaml(spec_path.read_text(encoding="utf-8")))
        Variables.from_spec(state.spec.get("variables", {}))
        yield state


def pipeline_frame(spec_path: Path, pipeline: str, values: Mapping[str, Sequence[str]]) -> Any:
    """The data of pipeline ``pipeline`` with its filters set from ``values`` (field -> query strings).

    Filters not named keep the spec's initial value, as on a freshly opened page. Raises
    :class:`DataRequestError` for an unknown pipeline, field or value.
    """
    with _lumen_document(spec_path) as state:
        names = pipeline_names(state.spec)
        if pipeline not in names:
            raise DataRequestError(
                f"no pipeline {pipeline!r}; this spec names: {', '.join(names) or 'none'}", 404
            )
        built = _build_pipeline(state, pipeline)
        filters = _filters_by_field(built)
        unknown = sorted(set(values) - set(filters))
        if unknown:
            raise DataRequestError(
                f"pipeline {pipeline!r} has no filter on {', '.join(unknown)}; "
                f"filterable fields: {', '.join(sorted(filters)) or 'none'}"
            )
        for field, raw in values.items():
            filt = filters[field]
            filt.value = _coerce(filt, field, list(raw))
        built._update_data(force=True)
        return built.data


def source_table_frame(spec_path: Path, source: str, table: str) -> Any:
    """The whole table ``table`` of source ``source``, as Lumen's source returns it with no filter (what
    `lumen-ext test` checks a checks file's ``tables:`` assertions on). Raises :class:`DataRequestError` for an
    unknown source or table."""
    with _lumen_document(spec_path) as state:
        sources = state.spec.get("sources") or {}
        if source not in sources:
            raise DataRequestError(
                f"no source {source!r}; this spec names: {', '.join(sources) or 'none'}", 404
            )
        built = state.sources.get(source) or state.load_source(source, sources[source])
        tables = built.get_tables()
        if table not in tables:
            raise DataRequestError(
                f"source {source!r} has no table {table!r}; it has: {', '.join(tables)}", 404
            )
        return built.get(table)


def _build_pipeline(state: Any, name: str) -> Any:
    """Named pipeline ``name``, its parents first: Lumen resolves ``pipeline: parent`` in ``state.pipelines`` only."""
    from lumen.pipeline import Pipeline

    if name not in state.pipelines:
        spec = state.spec["pipelines"][name]
        parent = spec.get("pipeline")
        if isinstance(parent, str) and parent in state.spec["pipelines"]:
            _build_pipeline(state, parent)
        state.pipelines[name] = Pipeline.from_spec(dict(spec, name=name, auto_update=False))
    return state.pipelines[name]


def _filters_by_field(pipeline: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    current = pipeline
    while current is not None:  # a chained pipeline also answers to its parents' filters
        for filt in current.filters:
            field = getattr(filt, "field", None)
            if field is not None and getattr(filt, "widget", None) is not None:
                found.setdefault(field, filt)
        current = current.pipeline
    return found


def _coerce(filt: Any, field: str, raw: list[str]) -> Any:
    """Query strings to the values the filter's widget would produce, refusing what it does not offer."""
    widget = filt.widget
    options = getattr(widget, "options", None)
    multi = isinstance(getattr(widget, "value", None), list | tuple) and not hasattr(widget, "start")
    if options:
        choices = options.values() if isinstance(options, dict) else options
        by_text = {str(choice): choice for choice in choices}
        bad = [r for r in raw if r not in by_text]
        if bad:
            offered = ", ".join(sorted(by_text)[:20])
            raise DataRequestError(
                f"{field}: {', '.join(map(repr, bad))} not among the offered values ({offered})"
            )
        picked = [by_text[r] for r in raw]
        return picked if multi else picked[-1]
    parsed = [_parse(r) for r in raw]
    if hasattr(widget, "start"):  # range sliders take "lo,hi" or two repeated values
        if len(parsed) == 1 and isinstance(parsed[0], str) and "," in parsed[0]:
            parsed = [_parse(p) for p in parsed[0].split(",", 1)]
        if len(parsed) != 2:
            raise DataRequestError(f"{field}: a range needs two values, 'lo,hi'")
        return tuple(parsed)
    return parsed if multi else parsed[-1]


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def check_sources(spec_path: Path) -> dict[str, str | None]:
    """Source name -> None when every table of it can be read, else the first error, for the readiness probe.

    Listing the tables is not enough: a ``file`` source lists a deleted file's table as well. Each table is opened
    as cheaply as its kind allows (a Parquet file's footer, a CSV file's first bytes, DuckDB's ``DESCRIBE`` of the
    table's query), so a missing or corrupt file makes the worker unready, without reading any data.
    """
    results: dict[str, str | None] = {}
    with _lumen_document(spec_path) as state:
        for name, source_spec in (state.spec.get("sources") or {}).items():
            try:
                source = state.sources.get(name) or state.load_source(name, source_spec)
                for table in source.get_tables():
                    _open_table(source, table)
                results[name] = None
            except Exception as exc:  # any failure means "not ready"; the probe reports it, never raises
                results[name] = f"{type(exc).__name__}: {exc}"
    return results


def _open_table(source: Any, table: str) -> None:
    """Raise when ``table`` of ``source`` cannot be read (what the first session would hit)."""
    from lumen.sources.base import FileSource
    from lumen.sources.duckdb import DuckDBSource

    if isinstance(source, DuckDBSource):
        source._connection.execute(f"DESCRIBE {source.get_sql_expr(table)}").fetchall()
    elif isinstance(source, FileSource):
        import pyarrow.parquet as pq

        for path in source._resolve_template_vars(source.tables[table]):
            text = str(path)
            if "://" in text:
                continue  # a URL: its server decides; not this worker's readiness
            if text.lower().endswith((".parq", ".parquet")):
                pq.read_metadata(text)  # the footer: missing, truncated or not Parquet raises
            else:
                with open(text, "rb") as handle:
                    handle.read(1)
