"""Tabulator updates that skip the pandas Styler when the table has no style: ``install()``.

On every new ``value`` (every filter change of a Lumen ``Table`` view) Panel's ``Tabulator._update_cds`` ends in
``_update_style`` (panel/widgets/tables.py), which builds a fresh ``df.style``, copies the widget's queued style
functions into it (``styler_update``), runs ``Styler._compute`` and sends the resulting ``cell_styles`` to every
browser model, under a new random ``id``. A table nobody styled queues no style function, so all of that
produces ``{'data': {}}`` again, and the browser, receiving it, finds nothing to apply (panel/models/tabulator.ts,
``setStyles`` returns at once on empty data). Lumen's ``Table`` view never sets a style.

``install()`` replaces ``Tabulator._update_style`` so that it returns at once when the widget's Styler holds no
style function **and** every browser model already holds no cell styles; otherwise Panel's method runs unchanged,
so a table styled later (``table.style.apply(...)``), or one whose styles must be cleared, is updated as before.
The ``value.style`` object Panel keeps for users to style the table (``Tabulator._validate``) is left alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["update_style_unless_unstyled"]


def _unstyled(table: Any) -> bool:
    """Whether ``table`` queues no style function: Panel would compute empty cell styles for it."""
    style = table.style
    return style is None or not getattr(style, "_todo", None)


def update_style_unless_unstyled(original: Any, settings: Any) -> Any:
    """``Tabulator._update_style`` that sends nothing when there is no style to compute or to clear."""

    def _update_style(self, recompute: bool = True) -> None:
        if _unstyled(self) and all(
            not (model.cell_styles or {}).get("data") for model, _ in self._models.values()
        ):
            return
        original(self, recompute)

    return _update_style
