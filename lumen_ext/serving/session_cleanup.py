"""Release what Lumen and Panel keep of a Bokeh session after Bokeh destroys it.

Without this, every session a `lumen-ext serve` process ever served stays in memory (about 1.3 MiB each with a
small table; more with plots), although Bokeh discards it. The holders, found with ``bench/memory_probe.py``:

* **Lumen's per-document state** (``lumen/state.py``: ``_configs``, ``_specs``, ``_loadings``, ``_sources``,
  ``_pipelines``, ``_filters``, ``_variables``) are ``WeakKeyDictionary`` objects keyed by the ``Document``,
  but their values reach the ``Document`` again (pipeline -> filter -> widget -> its Bokeh model -> the
  document's callbacks). A weak key whose value holds it strongly is never released: the entry, and with it
  the whole session (document, Bokeh models, Panel objects, the pipelines' data), lives forever.
* **Watchers on shared sources**: each pipeline watches its source (``lumen/pipeline.py:209``). A
  ``shared: true`` source outlives every session, and so does each session's pipeline through that watcher.
* **Watchers on process-wide variables**: a session's ``Variables`` made by ``state.variables`` watches each
  variable of ``state._variable`` (``lumen/state.py:123-128``, ``lumen/variables/base.py:148``), which outlives
  it. (A served spec's own ``variables:`` are per session, ``Variables.from_spec``.)
* **Panel's fake template roots** (``pn.state._fake_roots``): ``BaseTemplate._init_doc`` appends one id per
  session and ``_server_destroy`` never removes it, since ``BaseTemplate._refs`` is never filled
  (``panel/template/base.py:189,268``). Ids are small, but the list is searched on every model update.

:func:`install` registers :func:`release_document` for every destroyed session. It runs on the IOLoop's next
turn: Bokeh calls a document's destroy callbacks in no fixed order (a ``set``), and Panel's own ones must have
run first (they drop the document's views from ``pn.state._views``). Only objects that belong to the destroyed
document are touched, so the other sessions and the shared sources stay as they are.

The freed memory stays with the process for its next sessions (CPython's arenas, glibc's heap): RSS stays at
the high-water mark of the busiest moment but no longer grows with every session.
:mod:`lumen_ext.serving.memory_release` hands what the allocators can give back to the OS once sessions closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

__all__ = ["holder_sizes", "release_document", "release_on_destroy"]

log = logging.getLogger(__name__)

# lumen.state._session_state's per-Document WeakKeyDictionary attributes (lumen/state.py:31-52).
LUMEN_PER_DOCUMENT = ("_configs", "_specs", "_loadings", "_sources", "_pipelines", "_filters", "_variables")


def release_on_destroy(settings: Any) -> None:
    """Release each session's leftovers once Bokeh destroyed it (the hooks registry calls it once per process)."""
    import panel as pn

    pn.state.on_session_destroyed(_on_session_destroyed)


# Bokeh checks the callback's parameter name: it must be exactly `session_context`.
def _on_session_destroyed(session_context: Any) -> None:
    from tornado.ioloop import IOLoop

    IOLoop.current().add_callback(_release_logged, session_context._document)


def _release_logged(doc: Any) -> None:
    try:
        released = release_document(doc)
    except Exception:  # a failed clean-up must not take the server's IOLoop callback down with it
        log.exception("could not release a destroyed session's objects")
        return
    log.debug("released a destroyed session: %s", released)


def release_document(doc: Any) -> dict[str, int]:
    """Drop every reference Lumen, Panel and lumen-ext keep to ``doc``'s objects; counts of what was dropped."""
    from lumen.state import state as lumen_state

    session_state = type(lumen_state)
    released: dict[str, int] = {}
    pipelines = list(session_state._pipelines.get(doc, {}).values())
    released["source_watchers"] = _unwatch_owned_by(
        lumen_state.global_sources.values(), set(map(id, pipelines))
    )
    variables = session_state._variables.get(doc)
    released["variable_watchers"] = _unwatch_variables(variables) if variables is not None else 0
    released["lumen_state"] = sum(
        getattr(session_state, name).pop(doc, None) is not None for name in LUMEN_PER_DOCUMENT
    )
    released["failed_pipelines"] = _release_fault_records(doc)
    released["fake_roots"] = _drop_stale_fake_roots()
    return released


def _owner(fn: Callable) -> Any:
    """The object a watcher callback is bound to (through ``functools.partial`` too), else None."""
    while isinstance(fn, partial):
        fn = fn.func
    return getattr(fn, "__self__", None)


def _unwatch_owned_by(shared: Iterable[Any], owner_ids: set[int]) -> int:
    """Remove, from each shared Parameterized, the watchers whose callback belongs to one of ``owner_ids``."""
    removed = 0
    if not owner_ids:
        return removed
    for obj in shared:
        for watcher in [w for per in obj.param.watchers.values() for ws in per.values() for w in ws]:
            if id(_owner(watcher.fn)) in owner_ids:
                obj.param.unwatch(watcher)
                removed += 1
    return removed


def _unwatch_variables(variables: Any) -> int:
    removed = 0
    for name, watcher in list(variables._watchers.items()):
        variable = variables._vars.get(name)
        if variable is not None:
            variable.param.unwatch(watcher)
            removed += 1
    variables._watchers.clear()
    return removed


def _release_fault_records(doc: Any) -> int:
    from lumen_ext.security.guards import faults

    return int(faults.FAILED.pop(doc, None) is not None)


def _drop_stale_fake_roots() -> int:
    """Forget template roots whose view Panel already dropped (``pn.state._views`` is cleaned on destroy)."""
    import panel as pn

    roots = pn.state._fake_roots
    live = [ref for ref in roots if ref in pn.state._views]
    dropped = len(roots) - len(live)
    roots[:] = live  # in place: Panel's modules hold this very list
    return dropped


def holder_sizes() -> dict[str, int]:
    """Entries in every process-wide container known to hold per-session objects (for probes and tests)."""
    import panel as pn
    from lumen.state import state as lumen_state

    from lumen_ext.security.guards import faults
    from lumen_ext.serving import busy_indicators

    sizes = {f"lumen.state.{name}": len(getattr(type(lumen_state), name)) for name in LUMEN_PER_DOCUMENT}
    for name, source in lumen_state.global_sources.items():
        sizes[f"lumen.global_sources[{name}].watchers"] = _watcher_count(source)
    if lumen_state._variable is not None:
        for name, variable in lumen_state._variable._vars.items():
            sizes[f"lumen.global_variables[{name}].watchers"] = _watcher_count(variable)
    sizes["lumen_ext.security.failed_pipelines"] = len(faults.FAILED)
    for name in ("_views", "_fake_roots", "_handles", "_sessions", "_rest_endpoints", "_indicators"):
        sizes[f"panel.state.{name}"] = len(getattr(pn.state, name))
    for name in (
        "_locations",
        "_notifications",
        "_templates",
        "_periodic",
        "_onload",
        "_loaded",
        "_connected",
        "_change_callbacks",
        "_stylesheets",
        "_extensions_",
        "_thread_id_",
        "_browsers",
        "_rel_paths",
        "_base_urls",
        "_session_outputs",
    ):
        sizes[f"panel.state.{name}"] = len(getattr(pn.state, name))
    sizes["panel.state.session_info"] = len(pn.state.session_info.get("sessions", {}))
    sizes["lumen_ext.busy_indicators.documents"] = busy_indicators.session_indicators()
    sizes["lumen_ext.busy_indicators.busy"] = busy_indicators.busy_documents()
    return sizes


def _watcher_count(obj: Any) -> int:
    return sum(len(ws) for per_param in obj.param.watchers.values() for ws in per_param.values())
