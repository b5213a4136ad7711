"""A pipeline whose data fails (file deleted or corrupted while the server runs) turns each view reading it into a
card carrying the root cause's error id; the other pipelines, views and widgets keep working.

Two moments, one record per pipeline (``_FAULTS``: pipeline -> error id):

* **A session starts** and a pipeline cannot even be built (its schema is read at construction): a *stand-in*, an
  empty pipeline marked with the error id, takes its place in ``state.pipelines``, so its layout still builds,
  with the other pipelines' filters, and each view on it shows the card (:func:`standin_pipeline`).
* **A session is open** and a change makes the pipeline compute again: ``Pipeline._compute_data`` fails. The
  failure is logged once with a new id (the root exception), the pipeline is marked, and every view whose chain
  of pipelines contains it re-renders as a card at once. When there are such views, the exception then unwinds
  to the fence around ``Pipeline._update_data`` as :class:`_Unwind`, a ``BaseException`` so that Lumen's
  ``catch_and_notify`` (which would show the raw message, file paths included, in a toast, log it again and
  fail the Bokeh callback) lets it pass. The next successful computation clears the mark and the views draw
  again: recovery needs no restart. Without views (the /data endpoint, ``precache``) nothing changes.

A chained pipeline whose parent failed never computes (Lumen chains on the parent's ``data`` event), so its views
find the parent's mark by walking ``view.pipeline.pipeline...``: one id, the root cause's, on every card.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from lumen_ext.security.errors import record_error

log = logging.getLogger("lumen_ext.security")

__all__ = [
    "cause_of",
    "fault_of",
    "fenced_compute_data",
    "fenced_update_data",
    "note_view",
    "standin_pipeline",
]

# pipeline -> error id of its current failure. Pipelines are per session, so this never mixes sessions.
_FAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# pipeline -> its exception, with the ``dev`` policy only: a traceback holds frames (and their data) alive.
_CAUSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Stand-ins stay failed: their (empty) computation succeeding says nothing about the data they replace.
_STANDINS: weakref.WeakSet = weakref.WeakSet()
# Views that have rendered: the ones to re-render when a pipeline of their chain fails or recovers. The lock: a
# layout loading in the background (``config.background_load``) renders views in another thread.
_VIEWS: weakref.WeakSet = weakref.WeakSet()
_VIEWS_LOCK = threading.Lock()
_fence = threading.local()  # .depth: how many fenced _update_data calls are running in this thread


class _Unwind(BaseException):
    """Carries a recorded failure past Lumen's ``catch_and_notify`` (which catches ``Exception``) to the fence."""

    def __init__(self, error_id: str):
        super().__init__(error_id)
        self.error_id = error_id


def fault_of(obj: Any) -> str | None:
    """The error id of the first failed pipeline in the chain of ``obj`` (a view or a pipeline), if any."""
    failed = _first_failed(obj)
    return None if failed is None else _FAULTS.get(failed)


def cause_of(obj: Any) -> BaseException | None:
    """The exception behind :func:`fault_of`, kept only with the ``dev`` policy (for the card's traceback)."""
    failed = _first_failed(obj)
    return None if failed is None else _CAUSES.get(failed)


def _first_failed(obj: Any) -> Any:
    pipeline = getattr(obj, "pipeline", None) if not _is_pipeline(obj) else obj
    seen = 0
    while pipeline is not None and seen < 64:  # chains are short; the bound guards against a cycle
        if pipeline in _FAULTS:
            return pipeline
        pipeline, seen = getattr(pipeline, "pipeline", None), seen + 1
    return None


def note_view(view: Any) -> None:
    with _VIEWS_LOCK:
        _VIEWS.add(view)


def _is_pipeline(obj: Any) -> bool:
    from lumen.pipeline import Pipeline

    return isinstance(obj, Pipeline)


def _views_of(pipeline: Any) -> list:
    """The rendered views reading ``pipeline``, directly or through a chain of pipelines."""
    found = []
    with _VIEWS_LOCK:
        views = list(_VIEWS)
    for view in views:
        current, seen = getattr(view, "pipeline", None), 0
        while current is not None and seen < 64:
            if current is pipeline:
                found.append(view)
                break
            current, seen = getattr(current, "pipeline", None), seen + 1
    return found


def _rerender(views: list) -> None:
    """Lumen's layout rebuilds each view's card on the next tick through ``View.panel``, which then shows or drops
    the fault card."""
    for view in views:
        view.param.trigger("rerender")


def fenced_compute_data(original: Callable, settings: Any) -> Callable:
    """``Pipeline._compute_data``: a failure is recorded once, marks the pipeline and turns its views into cards;
    a success after a failure clears the mark and brings the views back."""
    from lumen_ext.security.runtime import policy_of

    dev = policy_of(settings).dev

    def _compute_data(self: Any) -> Any:
        try:
            data = original(self)
        except Exception as exc:
            views = _views_of(self)
            if not views:
                # No view shows it (the /data endpoint, `precache`, a tab not opened yet): the caller reports the
                # exception its own way, and a view rendering later records it (``fenced_view_panel``).
                raise
            error_id = fault_of(self.pipeline) if self.pipeline is not None else None
            if error_id is not None:
                # Its parent failed first (Lumen brings a stale parent up to date inside the child's computation):
                # that is the root cause, and its id the one every card quotes.
                log.error(
                    "error %s also stops pipeline %r: %s: %s", error_id, self.name, type(exc).__name__, exc
                )
            else:
                error_id = record_error(exc, f"computing the data of pipeline {self.name!r}")
            _FAULTS[self] = error_id
            if dev:
                _CAUSES[self] = exc
            _rerender(views)
            if getattr(_fence, "depth", 0):
                raise _Unwind(error_id) from exc
            raise
        if self in _FAULTS and self not in _STANDINS:
            log.info("pipeline %r computes again after error %s", self.name, _FAULTS.pop(self))
            _CAUSES.pop(self, None)
            _rerender(_views_of(self))
        return data

    return _compute_data


def fenced_update_data(original: Callable, settings: Any) -> Callable:
    """``Pipeline._update_data``: the fence a recorded computation failure unwinds to. Nothing is raised to Bokeh:
    the failure is in the log with its id and the views already show it."""

    def _update_data(self: Any, *events: Any, force: bool = False) -> None:
        _fence.depth = getattr(_fence, "depth", 0) + 1
        try:
            return original(self, *events, force=force)
        except _Unwind as unwind:
            log.debug("update of pipeline %r stopped by error %s", self.name, unwind.error_id)
            return None
        finally:
            _fence.depth -= 1

    return _update_data


def standin_pipeline(name: str, spec: dict, error_id: str, cause: BaseException | None = None) -> Any:
    """An empty pipeline, failed with ``error_id`` for good, in place of one that could not be built: its layout
    and views build as usual (Lumen needs a pipeline object to build them) and each view shows the card."""
    import pandas as pd
    from lumen.pipeline import Pipeline
    from lumen.sources.base import InMemorySource

    table = spec.get("table") if isinstance(spec.get("table"), str) else name
    pipeline = Pipeline(
        source=InMemorySource(tables={table: pd.DataFrame()}), table=table, schema={}, name=name
    )
    _FAULTS[pipeline] = error_id
    if cause is not None:
        _CAUSES[pipeline] = cause
    _STANDINS.add(pipeline)
    return pipeline
