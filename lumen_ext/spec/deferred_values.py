"""Values Lumen resolves later, which the checkers pass through unchecked: references (``$source.table.field``,
``$variables.name``) and text Lumen expands before it validates (Jinja, ``${...}`` URL templates)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["is_deferred", "is_ref"]

# Lumen's reference test (util.py:564-570): a string that starts with `$` or mentions `$variables.<ident>`.
_VARIABLE_REF = re.compile(r"\$variables\.[a-zA-Z_]\w*")


def is_ref(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("$") or bool(_VARIABLE_REF.search(value)))


def is_deferred(value: Any) -> bool:
    """Text Lumen expands before it validates: Jinja (`{{ }}`/`{% %}`) and `${...}` URL templates."""
    return isinstance(value, str) and ("{{" in value or "{%" in value or "${" in value)
