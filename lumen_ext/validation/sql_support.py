"""``sql_transforms`` on a source that cannot run SQL: Lumen 1.4 accepts the spec and then fails when the pipeline
first computes its data (pipeline.py:375-381, "Can only use sql transforms source that support them"), an error
card where the view should be."""

from __future__ import annotations

from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.model import SpecModel, component_type

__all__ = ["check_sql_support"]


def check_sql_support(ctx: CheckContext, model: SpecModel) -> None:
    from lumen_ext.spec.catalog import catalog

    sources = catalog().families["source"]
    for name, spec in model.pipelines.items():
        sql = spec.get("sql_transforms")
        if not isinstance(sql, list) or not sql or "pipeline" in spec:
            continue  # a chained pipeline never runs its own SQL (pipeline.py:373)
        source = spec.get("source")
        if isinstance(source, str):
            decl = model.sources.get(source)
            source_type = decl.type if decl is not None else None
            what = f"source `{source}`"
        elif isinstance(source, dict):
            source_type, what = component_type(source), "the inline source"
        else:
            continue
        entry = sources.get(source_type) if source_type is not None else None
        if entry is None or entry.get("supports_sql"):
            continue  # unknown, custom or optional types: Lumen decides at run time
        ctx.report(
            ("pipelines", name, "sql_transforms"),
            "invalid-value",
            f"pipeline `{name}` has `sql_transforms`, but {what} is a `{source_type}` source, which cannot run "
            "SQL; Lumen fails when the pipeline computes its data",
            "use Python `transforms` (e.g. `aggregate`, `sort`, `iloc`), or read the data with a `duckdb` source",
            target="key",
        )
