"""A pipeline whose new result is already in memory updates without switching its views' spinners on and off.

Lumen's ``Pipeline._update_data`` (pipeline.py:431-455) sets ``loading`` on the pipeline's update widget for the
duration of every update; each of the pipeline's views follows it (``View._update_loading``), so every filter
change sends every view's "loading" and "not loading" to the browser and re-styles each view twice on the
server. When the stage cache holds the pipeline's whole result in memory the update is one lookup: the
spinner would flash for no wait at all, and its four-plus messages cost more than the lookup.

:func:`install` replaces ``_update_data`` with Lumen's own steps, in Lumen's order, minus the two ``loading``
assignments, for exactly that case (:func:`lumen_ext.cache.runtime.plan_answered_in_memory`); every other
update, and every update without the stage cache, is Lumen's method unchanged.
"""

from __future__ import annotations

from functools import partial
from typing import Any

__all__ = ["update_data_from_memory"]

_UPDATING = "_lumen_ext_updating"  # set on a pipeline while this module updates it


def update_data_from_memory(original: Any, settings: Any) -> Any:
    """``Pipeline._update_data`` that sets a result already in memory at once, without the loading spinner."""
    from lumen.util import catch_and_notify  # Lumen's decorator reports an exception as for its own method

    from lumen_ext.cache import runtime

    @catch_and_notify
    def _update_data(self, *events: Any, force: bool = False) -> None:
        if self.__dict__.get(_UPDATING):
            # Lumen's ``loading`` flag is also its re-entrancy guard: syncing the references below sets parameters
            # whose watchers call this method again, and those calls must return, as they do in Lumen.
            return None
        if self._update_widget is None or self._update_widget.loading:
            return original(self, *events, force=force)
        if not force and not self.auto_update and not self.update:
            return original(self, *events, force=force)
        self.__dict__[_UPDATING] = True
        try:
            for f in self.filters + self.transforms + self.sql_transforms:
                f._sync_refs()  # as Lumen does first: the plan must see the current values
            if runtime.plan_answered_in_memory(self) is None:
                return original(self, *events, force=force)
            _set_data_as_lumen_does(self, self._compute_data())
        finally:
            self.__dict__.pop(runtime.PLAN_ATTR, None)  # never left for a later computation in another state
            self.__dict__.pop(_UPDATING, None)
        return None

    return _update_data


def _set_data_as_lumen_does(pipeline: Any, new_data: Any) -> None:
    import panel as pn
    from lumen.state import state
    from panel.io.document import unlocked
    from panel.io.state import state as pn_state

    if pn_state._unblocked(pn_state.curdoc):
        with unlocked():
            pipeline.data = new_data
    else:
        pipeline.data = new_data
    if state.config and state.config.on_update:
        pn.state.execute(partial(state.config.on_update, pipeline))
    pipeline._stale = False
