"""Data expressions pass, code does not (the check behind `query`/`eval` refusals, S10)."""

from __future__ import annotations

import pytest

from lumen_ext.security.expressions import expression_problem

SAFE_QUERIES = [
    "a > 1",
    "a > 1 and b == 'x'",
    "`my column` >= 3 or not flag",
    "region in ['E', 'W']",
    "name.str.contains('foo', case=False)",
    "a.isin([1, 2]) & ~b.isna()",
    "sqrt(a) < 3",
    "x == '@not-a-local'",
]
UNSAFE_QUERIES = {
    "@table.to_csv('/tmp/x')": "`@name`",
    "@self.param.__class__": "`@name`",
    "a.__class__.__init__.__globals__": "underscore",
    "table.to_csv('/tmp/x')": "`.to_csv()` is not a column method",
    "__import__('os').system('id')": "not a column method",
    "open('/etc/passwd')": "function `open`",
    "[x for x in a]": "ListComp",
    "lambda: 1": "Lambda",
    "a[0]": "Subscript",
    "(a.to_csv)('x')": "`.to_csv()`",
    "a = 1": "assignments are only allowed in `eval`",
    "import os": "`import` statements",
    "a >": "not a valid expression",
}


@pytest.mark.parametrize("expr", SAFE_QUERIES)
def test_data_expressions_pass(expr):
    assert expression_problem(expr) is None


@pytest.mark.parametrize(("expr", "reason"), UNSAFE_QUERIES.items(), ids=list(UNSAFE_QUERIES))
def test_code_is_refused_with_a_reason(expr, reason):
    problem = expression_problem(expr)
    assert problem is not None and reason in problem


def test_eval_assignments():
    assert expression_problem("Capacity = table.t_cap / 10**6", assignments=True) is None
    assert "one new column" in expression_problem("a, b = 1, 2", assignments=True)
    assert "column method" in expression_problem("b = table.to_csv('x')", assignments=True)


def test_not_text_and_too_long():
    assert "must be text" in expression_problem(5)
    assert "longer than" in expression_problem("a > 1 and " * 400 + "a > 1")
