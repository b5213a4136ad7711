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

from lumen_ext.replacement import Replacement

__all__ = ["install", "is_installed", "uninstall"]


def _unstyled(table: Any) -> bool:
    """Whether ``table`` queues no style function: Panel would compute empty cell styles for it."""
    style = table.style
    return style is None or not getattr(style, "_todo", None)


def _update_style_unless_unstyled(self, recompute: bool = True) -> None:
    """``Tabulator._update_style`` that sends nothing when there is no style to compute or to clear."""
    if _unstyled(self) and all(
        not (model.cell_styles or {}).get("data") for model, _ in self._models.values()
    ):
        return
    _replacement.original(self, recompute)


_replacement = Replacement(
    "panel.widgets.tables:Tabulator", "_update_style", lambda original: _update_style_unless_unstyled
)
install = _replacement.install
uninstall = _replacement.uninstall
is_installed = _replacement.is_installed
