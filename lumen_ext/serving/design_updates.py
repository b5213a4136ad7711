"""Parameter updates that resolve the design's stylesheets only when stylesheets change: ``install()``.

Every time a parameter of a Panel component changes on a served page (a widget's ``value``, a table's data, the
template's busy spinner turning on and off), ``Reactive._update_properties`` (panel/reactive.py) starts with
``self._design.params(self, doc)``: the design's modifiers for the component's class, which resolves the theme's
``base_css`` and ``css`` ``param.Filename`` parameters (a search of the disk for each, ``Filename._resolve``) and
builds ``ImportedStyleSheet`` objects for its stylesheet URLs. The result is used only when the change itself
includes ``stylesheets`` (the design's sheets go before the component's own); for any other change Panel throws
it away and returns ``_process_param_change`` of the changes, exactly what ``Syncable._update_properties`` returns.
In the load test this was 8% of the server's time per filter change, a disk stat among it, for nothing.

``install()`` replaces ``Reactive._update_properties`` so that a change without ``stylesheets`` takes
``Syncable._update_properties`` directly; a change with ``stylesheets`` runs Panel's method unchanged. Skipped
is a computation with no effect on any model: its only side effect is filling the per-document stylesheet cache
(``state._stylesheets``), which rendering fills itself whenever it needs a stylesheet.
"""

from __future__ import annotations

from typing import Any

__all__ = ["update_properties_without_unused_design"]


def update_properties_without_unused_design(original: Any, settings: Any) -> Any:
    """``Reactive._update_properties`` that resolves the design only when its stylesheets are needed."""
    from panel.reactive import Syncable

    def _update_properties(self, *events: Any, doc: Any) -> dict[str, Any]:
        if any(event.name == "stylesheets" for event in events):
            return original(self, *events, doc=doc)
        return Syncable._update_properties(self, *events, doc=doc)

    return _update_properties
