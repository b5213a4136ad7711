"""A plot whose filters select no rows shows a "no rows match" note instead of failing.

hvPlot turns an empty frame with ``by``/``groupby`` into an empty ``NdOverlay``, and HoloViews refuses to draw it
(``SkipRendering: bokeh backend could not plot any Elements in the Overlay``). Lumen's ``View._update_panel`` lets
that escape: the viewer gets a toast with the exception text, the old plot stays, the server logs a failed
callback, and the client's update never comes. Here, while a plot's pipeline holds no rows, the view shows a note
in place of the plot (under its title, as Lumen lays out views); the first update with rows builds the plot anew,
exactly as Lumen builds a view the first time.

Only hvPlot views: tables and indicators draw an empty frame well enough, and they keep Lumen's behaviour.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOTE_CLASS", "NOTE_TEXT", "noting_empty_results"]

# The CSS class of the note; browser tests and operators' style sheets key on it.
NOTE_CLASS = "lx-empty-note"
NOTE_TEXT = "No rows match the current filters."
_NOTE_ATTR = "_lumen_ext_empty_note"  # the note pane a view currently shows, in the view's __dict__


def noting_empty_results(original: Any, settings: Any) -> Any:
    """``View._update_panel`` that shows the note while an hvPlot view has no rows."""
    from lumen.views.base import hvPlotView

    def _update_panel(self: Any, *events: Any) -> bool:
        if not isinstance(self, hvPlotView) or getattr(self, "streaming", False) or _rows(self) != 0:
            note = self.__dict__.pop(_NOTE_ATTR, None)
            if note is not None and self._panel is note:
                self._panel = None  # Lumen then builds the plot with get_panel() and asks for a re-render
            return original(self, *events)
        self._sync_refs(trigger=False)  # as Lumen's first step: the view's references are current
        if self._panel is not None and self._panel is self.__dict__.get(_NOTE_ATTR):
            return False  # already showing the note
        if self._panel is not None:
            self._cleanup()  # as Lumen does before replacing a plot: unlink its selection streams
        self._panel = self.__dict__[_NOTE_ATTR] = _note_pane()
        return True

    return _update_panel


def _rows(view: Any) -> int | None:
    """Rows in the view's pandas frame; None when unknown (no data yet, another backend, or it fails: then Lumen's
    own path runs and reports as it always did)."""
    import pandas as pd

    try:
        data = view.pipeline.data
        if data is None:
            view.pipeline._update_data()
            data = view.pipeline.data
    except Exception:
        return None
    return len(data) if isinstance(data, pd.DataFrame) else None


def _note_pane() -> Any:
    import panel as pn

    return pn.pane.HTML(
        f"<div class='{NOTE_CLASS}' role='status' style='padding: 2rem 1rem; text-align: center; "
        f"color: #57606a; border: 1px dashed #d0d7de; border-radius: 6px'>{NOTE_TEXT}</div>",
        sizing_mode="stretch_width",
        min_height=120,
    )
