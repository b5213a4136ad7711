"""Which pandas ``query``/``eval`` expressions are data expressions, and which could run code.

``DataFrame.query`` and ``pandas.eval`` accept more than comparisons: ``@name`` reads any variable of the calling
Python frame (Lumen's transform, so ``@self`` and ``@table``), and attribute access plus calls reach methods such as
``to_csv`` or ``__class__.__init__.__globals__`` (LUMEN-NOTES §5, S10). A viewer who controls the expression, through
a ``url``/``widget`` variable or ``controls: [query]``, therefore runs code on the server.

:func:`expression_problem` accepts the data subset: column names (bare or in backticks), literals, arithmetic,
comparisons, ``and``/``or``/``not``/``in``, a short list of column methods (``.str.contains``, ``.isin``, ...),
pandas' math functions, and, for ``eval``, ``new_column = expression`` lines. Everything else is refused with the
reason. The check is syntactic and needs no DataFrame, so the linter and the runtime guard share it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

__all__ = ["expression_problem"]

# Methods that only compute on a column (Series, `.str`, `.dt` accessors).
SAFE_METHODS = frozenset(
    {
        "str",
        "dt",
        "isin",
        "isna",
        "isnull",
        "notna",
        "notnull",
        "between",
        "abs",
        "round",
        "contains",
        "startswith",
        "endswith",
        "match",
        "fullmatch",
        "lower",
        "upper",
        "strip",
        "len",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "dayofweek",
        "date",
    }
)
# pandas.eval's mathematical functions (pandas/core/computation/ops.py MATHOPS/REDUCTIONS).
MATH_FUNCTIONS = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "abs",
        "log",
        "log10",
        "log1p",
        "exp",
        "expm1",
        "sqrt",
        "arctan2",
        "sum",
        "prod",
    }
)
_ALLOWED_NODES = (
    ast.Module,
    ast.Expr,
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.Compare,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.List,
    ast.Tuple,
    ast.operator,
    ast.cmpop,
    ast.boolop,
    ast.unaryop,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.Assign,
)
_BACKTICK = re.compile(r"`[^`]*`")
MAX_LENGTH = 2000  # an expression longer than this is not a filter a person wrote


def _has_local_reference(text: str) -> bool:
    """Whether ``@`` appears outside string literals (pandas' "local variable" syntax)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return "@" in text  # cannot tell strings apart: be strict
    return any(tok.type == tokenize.OP and "@" in tok.string for tok in tokens) or any(
        tok.type == tokenize.ERRORTOKEN and tok.string.strip() == "@" for tok in tokens
    )


def expression_problem(expr: object, *, assignments: bool = False) -> str | None:
    """Why ``expr`` is not a plain data expression, or None when it is one.

    ``assignments=True`` is the ``eval`` form: each line may be ``name = expression``.
    """
    if not isinstance(expr, str):
        return f"the expression must be text, got {type(expr).__name__}"
    if len(expr) > MAX_LENGTH:
        return f"the expression is longer than {MAX_LENGTH} characters"
    # Backticks quote column names with spaces; replace each with a plain identifier before parsing.
    text = _BACKTICK.sub(lambda m: f"lx_column_{m.start()}", expr)
    if _has_local_reference(text):
        return "`@name` reads Python variables of the server process"
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as exc:
        return f"it is not a valid expression ({exc.msg})"
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            if not assignments:
                return "assignments are only allowed in `eval` expressions"
            if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                return "an assignment must name one new column: `name = expression`"
        elif not isinstance(statement, ast.Expr):
            return f"`{type(statement).__name__.lower()}` statements are not expressions"
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return f"{type(node).__name__} is not allowed in a data expression"
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return f"name `{node.id}` starts with an underscore"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"attribute `{node.attr}` starts with an underscore"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in MATH_FUNCTIONS:
                    return f"function `{func.id}` is not one of pandas' math functions"
            elif isinstance(func, ast.Attribute):
                if func.attr not in SAFE_METHODS:
                    return f"method `.{func.attr}()` is not a column method"
            else:
                return "only named functions and column methods may be called"
            for kw in node.keywords:
                if kw.arg is None:
                    return "`**` arguments are not allowed"
    return None
