"""Lumen's SQL transforms applied to a query's text, rendered once per query shape and filter values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lumen_ext.cache.hashing import Unhashable, combine
from lumen_ext.cache.plancache import rendered_sql
from lumen_ext.cache.stage_plan import transform_token

__all__ = ["apply_sql", "sql_chain"]


def sql_chain(expr: str, conditions: list, sql_transforms: list) -> str:
    from lumen.transforms.sql import SQLFilter

    try:
        key = combine(None, "sql-chain", expr, conditions, [transform_token(t) for t in sql_transforms])
    except Unhashable:
        key = None
    return rendered_sql.get_or_compile(
        key, lambda: apply_sql(expr, [SQLFilter(conditions=conditions), *sql_transforms])
    )


def apply_sql(sql: str, sql_transforms: Sequence[Any]) -> str:
    for st in sql_transforms:
        sql = st.apply(sql)
    return sql
