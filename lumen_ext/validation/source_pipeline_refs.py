"""Sources and pipelines named by other components: each name is declared (before use, where Lumen needs it),
and the table a pipeline or view picks is one its source has."""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import SourceDecl, SpecModel
from lumen_ext.validation.ref_strings import check_source_table

__all__ = [
    "check_pipeline_name",
    "check_pipeline_spec",
    "check_pipelines",
    "check_source_links",
    "check_source_name",
    "check_table_choice",
]


def check_source_name(
    ctx: CheckContext, model: SpecModel, value: Any, path: Path, who: str
) -> SourceDecl | None:
    if not isinstance(value, str):
        return None
    src = model.sources.get(value)
    if src is None:
        ctx.report(
            path,
            "undefined-source",
            f"{who} uses source `{value}`, which is not declared"
            + ("" if model.sources else " (the spec has no `sources:` section)"),
            did_you_mean(value, model.sources, "sources"),
        )
    return src


def check_pipeline_name(
    ctx: CheckContext,
    model: SpecModel,
    value: Any,
    path: Path,
    who: str,
    declared_before: list[str] | None = None,
) -> bool:
    if not isinstance(value, str):
        return False
    if value not in model.pipelines:
        ctx.report(
            path,
            "undefined-pipeline",
            f"{who} uses pipeline `{value}`, which is not declared"
            + ("" if model.pipelines else " (the spec has no `pipelines:` section)"),
            did_you_mean(value, model.pipelines, "pipelines"),
        )
        return False
    if declared_before is not None and value not in declared_before:
        ctx.report(
            path,
            "undefined-pipeline",
            f"{who} chains pipeline `{value}`, which is declared after it; Lumen builds pipelines in order",
            f"move `{value}` above it in `pipelines:`",
        )
        return False
    return True


def check_source_links(ctx: CheckContext, model: SpecModel) -> None:
    """Sources that point at other sources: `join` and `derived`."""
    for src in model.sources.values():
        if src.type == "join":
            names = src.spec.get("sources")
            if isinstance(names, list):
                for i, name in enumerate(names):
                    check_source_name(
                        ctx, model, name, (*src.path, "sources", i), f"join source `{src.name}`"
                    )
        if src.type in ("join", "derived") and src.tables:
            for table in src.tables.values():
                entries = table.value if isinstance(table.value, list) else [table.value]
                for i, entry in enumerate(entries):
                    if not isinstance(entry, dict):
                        continue
                    epath = (*table.path, i) if isinstance(table.value, list) else table.path
                    name, tname = entry.get("source"), entry.get("table")
                    linked = check_source_name(ctx, model, name, (*epath, "source"), f"source `{src.name}`")
                    if linked and isinstance(tname, str):
                        check_source_table(ctx, model, [linked.name, tname], (*epath, "table"), "table")
        if src.type == "derived" and "source" in src.spec:
            check_source_name(
                ctx, model, src.spec["source"], (*src.path, "source"), f"derived source `{src.name}`"
            )


def check_pipeline_spec(
    ctx: CheckContext, model: SpecModel, spec: dict, path: Path, who: str, declared_before: list[str] | None
) -> None:
    has_source, has_pipeline = "source" in spec, "pipeline" in spec
    if has_source and has_pipeline:
        ctx.report(
            (*path, "pipeline"),
            "source-and-pipeline",
            f"{who} declares both `source` and `pipeline`; Lumen uses the source and ignores `pipeline`",
            "keep one of them",
            target="key",
            severity="warning",
        )
    # Neither key: the schema check reports it (missing-key), since Lumen's own check has a typo there.
    src: SourceDecl | None = None
    if has_source:
        if isinstance(spec["source"], dict):
            return  # inline sources are checked by the schema check only
        src = check_source_name(ctx, model, spec["source"], (*path, "source"), who)
    elif has_pipeline:
        if isinstance(spec["pipeline"], dict):
            check_pipeline_spec(ctx, model, spec["pipeline"], (*path, "pipeline"), "inline pipeline", None)
        else:
            check_pipeline_name(ctx, model, spec["pipeline"], (*path, "pipeline"), who, declared_before)
        return  # a chained pipeline always uses its parent's table
    if src is None:
        return
    check_table_choice(ctx, src, spec.get("table"), (*path, "table"), path, who)


def check_table_choice(
    ctx: CheckContext, src: SourceDecl, table: Any, table_path: Path, owner_path: Path, who: str
) -> None:
    if src.tables is None:
        return
    if table is None:
        if len(src.tables) > 1:
            ctx.report(
                owner_path,
                "ambiguous-table",
                f"{who} does not say which table of source `{src.name}` to use, and it has {len(src.tables)}",
                "add `table:` with one of " + ", ".join(f"'{t}'" for t in list(src.tables)[:8]),
                target="mapping",
            )
        return
    if isinstance(table, str) and not table.startswith("$") and table not in src.tables:
        ctx.report(
            table_path,
            "undefined-table",
            f"source `{src.name}` has no table `{table}`",
            did_you_mean(table, src.tables, f"tables of '{src.name}'"),
        )


def check_pipelines(ctx: CheckContext, model: SpecModel) -> None:
    for i, name in enumerate(model.pipeline_order):
        spec = model.pipelines[name]
        check_pipeline_spec(
            ctx, model, spec, ("pipelines", name), f"pipeline `{name}`", model.pipeline_order[:i]
        )
