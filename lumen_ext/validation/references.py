"""Cross-references Lumen resolves by name: variables, sources, tables, pipelines, views and layout grids.

Lumen's own validator checks only some of these, crashes on others (LUMEN-NOTES §3.2: specs 11, 16, 17, 28, 34)
and stops at the first. Here each one is checked independently and all findings are reported: `$` references
in :mod:`~lumen_ext.validation.ref_strings`, names of sources and pipelines in
:mod:`~lumen_ext.validation.source_pipeline_refs`, layouts in :mod:`~lumen_ext.validation.layout_refs`.
"""

from __future__ import annotations

from lumen_ext.validation.context import CheckContext
from lumen_ext.validation.layout_refs import check_layouts, check_param_filters
from lumen_ext.validation.model import SpecModel
from lumen_ext.validation.ref_strings import check_url_templates, walk_refs
from lumen_ext.validation.source_pipeline_refs import check_pipelines, check_source_links

__all__ = ["check_references"]


def check_references(ctx: CheckContext, model: SpecModel) -> None:
    data = ctx.data
    if not isinstance(data, dict):
        return
    for section in ("variables", "sources", "pipelines", model.layouts_key):
        if section in data:
            walk_refs(ctx, model, data[section], (section,), allow_data=False)
    check_url_templates(ctx, model)
    check_source_links(ctx, model)
    check_pipelines(ctx, model)
    check_layouts(ctx, model)
    check_param_filters(ctx, model, data)
