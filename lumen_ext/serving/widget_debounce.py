"""No 50 ms wait before the server acts on a choice made in a discrete-value widget.

Panel holds every change a browser makes to a widget for ``Syncable._debounce`` (50 ms) before processing it
(panel/reactive.py, ``Syncable._server_change``: ``doc.add_timeout_callback(cb, self._debounce)``). The wait
coalesces a burst of changes to one widget into one server update: the positions of a slider being dragged, the
keystrokes in a text box. A widget whose every browser change is one finished choice (a click on an option, a
checkbox, a date picked in a calendar) sends no such burst, so for it the wait is pure latency on every filter
change of a Lumen dashboard: about a third of a cached repeat's end-to-end time.

The hooks table sets ``_debounce`` to :data:`DEBOUNCE_MS` (1 ms) on those widget classes only. The change then runs
through the very same path (a timeout callback holding the document lock, events coalesced as before); only the
wait is gone. Why 1 and not 0: a 0 ms timeout ran before Bokeh had finished handling the browser's message, so
everything the change sent (Lumen's loading spinner included, which it dispatches immediately) left in one flush
with the new data, and on a slow query the user saw no spinner until the plot changed. With 1 ms, Bokeh answers
the message first and the spinner reaches the browser within a few milliseconds (``bench/bench_e2e.py``'s
``first reply ms``). Panel's other route, ``_priority_changes``, is not used: it runs the change without the
document lock, a different concurrency model from what Lumen's callbacks were written for.

Kept at Panel's 50 ms, with the reason:

* sliders (``IntSlider``, ``RangeSlider``, ``DateRangeSlider``, ...): ``value`` streams while the handle is
  dragged. Lumen's filters and variables act on ``value_throttled`` (sent once, on release), but the debounce is
  per widget, not per property, so lowering it would process every drag step separately;
* spinners and numeric inputs: holding an arrow streams values, as a slider does;
* text inputs and ``AutocompleteInput``: ``value_input`` streams per keystroke;
* pickers whose popup streams intermediate values (``DatetimePicker``'s hour/minute arrows, ``ColorPicker``);
* players and everything else: not a single discrete choice, or not used by Lumen's filters and variables.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEBOUNCE_MS", "PANEL_DEBOUNCE_MS", "one_millisecond"]

# Panel's own value (panel/reactive.py, ``Syncable._debounce``); the tests pin it.
PANEL_DEBOUNCE_MS = 50
# What discrete widgets get instead (see the module docstring for why not 0).
DEBOUNCE_MS = 1

# The widget classes are listed in the hooks table (lumen_ext.hooks.table.DISCRETE_WIDGETS).


def one_millisecond(original: Any, settings: Any) -> int:
    """The ``_debounce`` a discrete widget class gets instead of Panel's."""
    return DEBOUNCE_MS
