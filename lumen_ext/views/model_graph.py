"""Skip Bokeh's walk over a whole document after a plot update that did not change which models it holds.

HoloViews updates a plot under ``Document.models.freeze()`` (``hold_render`` in holoviews/plotting/bokeh/util.py),
and Bokeh recomputes the document's set of models when the outermost freeze ends, *whether or not* a model
reference changed: a walk over every model reachable from every root (the whole Lumen template in a served
session), about a third of a patched update's time. Bokeh itself only asks for that walk when a property that
holds models changes (``Model.trigger`` calls ``models.invalidate()``), and Panel's ``freeze_doc`` follows the same
rule. :func:`recompute_only_if_changed` applies it to the freeze HoloViews opens: it holds an outer freeze, notes
whether anything invalidated the model set (or the roots changed) meanwhile, and recomputes only then.

It relies on three private members of Bokeh's ``DocumentModelManager`` (``_push_freeze``, ``_pop_freeze``,
``_freeze_count``); if they are missing the update runs under Bokeh's own behaviour, unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from lumen_ext import hooks

__all__ = ["recompute_only_if_changed", "supported"]


def supported(document: Any) -> bool:
    models = getattr(document, "models", None)
    return all(
        hasattr(models, name) for name in ("_push_freeze", "_pop_freeze", "_freeze_count", "invalidate")
    )


@contextlib.contextmanager
def recompute_only_if_changed(documents: Iterable[Any]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for document in {id(d): d for d in documents if d is not None}.values():
            if supported(document):
                stack.enter_context(_one(document))
        yield


@contextlib.contextmanager
def _one(document: Any) -> Iterator[None]:
    models = document.models
    changed = False
    invalidate = models.invalidate  # the bound method, or an enclosing use's wrapper

    def noting_invalidate() -> None:
        nonlocal changed
        changed = True
        invalidate()

    roots = list(document.roots)
    models._push_freeze()
    try:
        with hooks.shadow("views.model-graph.invalidate", models, noting_invalidate):
            yield
    finally:
        if changed or list(document.roots) != roots:
            models._pop_freeze()  # recomputes when this was the outermost freeze
        else:
            models._freeze_count -= 1  # nothing was attached or detached: the model set is still right
