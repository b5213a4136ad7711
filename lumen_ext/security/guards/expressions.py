"""S10 S11: viewer input stays data. ``query``/``eval`` transforms run only data expressions
(:mod:`lumen_ext.security.expressions`), ``sql_format`` string parameters become quoted identifiers, and boolean
filters reach SQL sources instead of being dropped."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lumen_ext.security.expressions import expression_problem
from lumen_ext.security.runtime import PolicyViolation

__all__ = ["boolean_sql_filters", "guarded_eval", "guarded_query", "quoted_sql_format"]


def _expression_guard(attribute: str, assignments: bool) -> Callable[[Callable, Any], Callable]:
    def make(original: Callable, settings: Any) -> Callable:
        def apply(self: Any, table: Any) -> Any:
            if problem := expression_problem(getattr(self, attribute), assignments=assignments):
                raise PolicyViolation(f"{type(self).__name__.lower()} transform refused: {problem}")
            return original(self, table)

        return apply

    return make


guarded_query = _expression_guard("query", assignments=False)
guarded_query.__doc__ = (
    "``Query.apply``: only data expressions (columns, literals, comparisons, column methods)."
)
guarded_eval = _expression_guard("expr", assignments=True)
guarded_eval.__doc__ = "``Eval.apply``: only data expressions, and assignments to columns."


def quoted_sql_format(original: Callable, settings: Any) -> Callable:
    """``SQLFormat.apply`` (transforms/sql.py:267-290), except that a string parameter is always a *quoted*
    identifier: ``*, (SELECT ...) AS pw`` names a (missing) column instead of becoming SQL."""
    from sqlglot import expressions as exp

    def apply(self: Any, sql_in: str) -> str:
        template = re.sub(r"\{(\w+)\}", r":\1", sql_in)
        expression = self.parse_sql(template)
        if self.parameters:
            parameters = {
                k: exp.Identifier(this=v, quoted=True) if isinstance(v, str) else v
                for k, v in self.parameters.items()
            }
            expression = exp.replace_placeholders(expression, **parameters)
        return self.to_sql(expression)

    return apply


def boolean_sql_filters(original: Callable, settings: Any) -> Callable:
    """``SQLFilterBase._build_filter_conditions`` that compiles boolean values: Lumen drops them with a warning
    (transforms/sql.py:706-708, 726-729), so a checkbox filter silently leaves a SQL table unfiltered."""
    import numpy as np
    from sqlglot import expressions as exp

    def _build_filter_conditions(self: Any, conditions: list) -> list:
        plain, booleans = [], []
        for col, val in conditions:
            values = val if isinstance(val, list) else [val]
            if values and all(isinstance(v, (bool, np.bool_)) for v in values):
                column = exp.Column(this=exp.Identifier(this=col, quoted=True))
                literals = [exp.Boolean(this=bool(v)) for v in values]
                booleans.append(
                    column.eq(literals[0]) if not isinstance(val, list) else column.isin(*literals)
                )
            else:
                plain.append((col, val))
        return original(self, plain) + booleans

    return _build_filter_conditions
