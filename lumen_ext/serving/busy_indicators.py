"""Busy indicators that follow their own session, installed by `lumen-ext serve`.

Panel keeps one process-wide busy flag (``pn.state.busy``, from the ``_busy_counter`` of running callbacks) and
one class-level list of indicators (``pn.state._indicators``) that ``pn.state.sync_busy`` appends to. Its
``_update_busy`` watcher sets ``value`` on every indicator in that list whenever the flag flips
(``panel/io/state.py``: ``_update_busy``, ``sync_busy``). Lumen syncs a spinner for every session it builds
(``lumen/dashboard.py``: ``Dashboard.layout``), and so does every template with a ``busy_indicator``. On a
server that means:

* every interaction in one session turns on, then off, the spinner of every other session: two patches sent
  to each open session, O(sessions) work per interaction and O(sessions²) under load (29% of a 100-session
  server's time in a py-spy profile);
* every session ever served stays in the list (Lumen's spinner is never removed; a template removes its own
  only when it has no document left), keeping the session's Bokeh models and its document alive.

:func:`sync_busy_per_session` (with its companions, installed by the hooks table) makes ``sync_busy`` called while a session's document is being built register the indicator
for that document only, and records which document each busy event (``_add_busy_event``) belongs to. When
the set of running events changes, only documents whose own busy state changed get their indicators set. A
destroyed session's indicators and events are dropped. Indicators synced outside a server session (a
notebook, a script) stay in Panel's list and behave as before; ``pn.state.busy`` stays process-wide, as Panel
documents it.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

__all__ = [
    "add_busy_event_for_session",
    "busy_documents",
    "follow_sessions",
    "process_bokeh_event_in_session",
    "session_indicators",
    "sync_busy_per_session",
]

log = logging.getLogger(__name__)

# Document -> the indicators synced while that document was current. Weak keys, but the indicators' Bokeh
# models reach the document again, so a destroyed session's entry is dropped explicitly (_forget_document).
_indicators: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
# Busy event id -> the document it runs for (only events started while a session document was current).
_owners: dict[str, Any] = {}
# Documents that currently have at least one running event.
_busy: set[Any] = set()
_lock = threading.RLock()


def add_busy_event_for_session(original: Any, settings: Any) -> Any:
    """``_state._add_busy_event`` that records which session's document the event runs for."""

    def _add_busy_event(self, event_id: str) -> None:
        doc = _session_document(self)
        if doc is not None:
            with _lock:
                _owners[event_id] = doc
        original(self, event_id)

    return _add_busy_event


def sync_busy_per_session(original: Any, settings: Any) -> Any:
    """``_state.sync_busy`` that registers an indicator synced while a session is built for that session only."""

    def sync_busy(self, indicator: Any) -> None:
        doc = _session_document(self)
        if doc is None:
            original(self, indicator)  # outside a server session: Panel's process-wide list
            return
        already_global = indicator in self._indicators
        original(self, indicator)  # keeps Panel's check that the indicator has a Boolean value
        if not already_global:
            self._indicators.remove(indicator)
        with _lock:
            per_doc = _indicators.setdefault(doc, [])
            if indicator not in per_doc:
                per_doc.append(indicator)
            busy = doc in _busy
        if busy:  # synced while its session already runs a callback
            indicator.value = True

    return sync_busy


def process_bokeh_event_in_session(original: Any, settings: Any) -> Any:
    """``Syncable._process_bokeh_event`` that makes ``doc`` current before Panel adds the busy event, so the
    event is attributed to its session."""
    from panel.io.state import set_curdoc

    def _process_bokeh_event(self, doc: Any, event: Any) -> None:
        with set_curdoc(doc):
            original(self, doc, event)

    return _process_bokeh_event


def follow_sessions(settings: Any) -> None:
    """Set each session's indicators when its own busy state changes; forget destroyed sessions (the hooks
    registry calls it once per process)."""
    import panel as pn

    pn.state.param.watch(_on_busy_counter, "_busy_counter")
    pn.state.on_session_destroyed(_forget_document)


def _session_document(state: Any) -> Any:
    doc = state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def _on_busy_counter(event: Any) -> None:
    """Turn on the indicators of documents that became busy and off those of documents that became idle.

    Runs on every change of Panel's ``_busy_counter``: events added, finished, or dropped by Panel's 30 s
    stale-event clean-up, so an indicator never stays on longer than Panel's own would.
    """
    running = {event_id for event_id, _ in event.new}
    with _lock:
        for event_id in [e for e in _owners if e not in running]:
            del _owners[event_id]
        now = set(_owners.values())
        started, finished = now - _busy, _busy - now
        _busy.clear()
        _busy.update(now)
        changes = [(doc, True) for doc in started] + [(doc, False) for doc in finished]
        targets = [(list(_indicators.get(doc, ())), value) for doc, value in changes]
    for indicators, value in targets:
        for indicator in indicators:
            indicator.value = value


# Bokeh checks the callback's parameter name: it must be exactly `session_context`.
def _forget_document(session_context: Any) -> None:
    doc = session_context._document
    with _lock:
        _indicators.pop(doc, None)
        _busy.discard(doc)
        for event_id in [e for e, owner in _owners.items() if owner is doc]:
            del _owners[event_id]


def session_indicators() -> int:
    """How many documents have indicators registered (for probes and tests)."""
    with _lock:
        return len(_indicators)


def busy_documents() -> int:
    """How many documents have a running event."""
    with _lock:
        return len(_busy)
