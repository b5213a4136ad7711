"""Faults stay local: a failing pipeline, layout or view becomes a card with an error id (which the server log repeats)
in its place, the rest of the dashboard renders, and viewers never see a traceback unless the policy says ``dev``."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from lumen_ext.security.errors import error_card_html, record_error
from lumen_ext.security.guards.pipeline_faults import cause_of, fault_of, note_view, standin_pipeline
from lumen_ext.security.runtime import policy_of

log = logging.getLogger("lumen_ext.security")

__all__ = [
    "FAILED",
    "FaultLayout",
    "fenced_load_layout",
    "fenced_load_pipelines",
    "fenced_render_dashboard",
    "fenced_view_panel",
]


# Per Bokeh document (session): pipeline name -> error id of its failure to load.
FAILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FAILED_NO_DOCUMENT: dict[str, str] = {}


def _failed_pipelines() -> dict[str, str]:
    import panel as pn

    doc = pn.state.curdoc
    if doc is None:
        return _FAILED_NO_DOCUMENT
    return FAILED.setdefault(doc, {})


def _failed_cause(layout_spec: dict) -> str | None:
    """The error id of a failed pipeline this layout (or one of its views) names, if any."""
    failed = _failed_pipelines()
    views = layout_spec.get("views", [])
    names = [layout_spec.get("pipeline")]
    names += [
        v.get("pipeline")
        for v in (views.values() if isinstance(views, dict) else views)
        if isinstance(v, dict)
    ]
    return next((failed[n] for n in names if isinstance(n, str) and n in failed), None)


class FaultLayout:
    """Stands in for a `lumen.layout.Layout` that failed to build: shows its card, offers no filters."""

    def __init__(self, title: str, card_html: str):
        self.title = title
        self._card_html = card_html
        self._pipelines: dict = {}
        self.show_title = True
        self.refs: list = []

    @property
    def panels(self) -> Any:
        import panel as pn

        return pn.Column(
            pn.pane.HTML(self._card_html, sizing_mode="stretch_width"),
            name=self.title,
            sizing_mode="stretch_width",
        )

    def get_filter_panel(self, skip: Any = None, apply_button: bool = True) -> None:
        return None


def fenced_render_dashboard(original: Callable, settings: Any) -> Callable:
    """``Dashboard._render_dashboard`` (dashboard.py:616-639) with a card and an error id instead of a traceback."""
    import panel as pn
    from lumen.dashboard import Tabs

    policy = policy_of(settings)

    def _render_dashboard(self: Any) -> None:
        try:
            self._materialize_specification()
            self._render()
            self._main[:] = [self._layout]
        except Exception as exc:
            error_id = record_error(exc, f"rendering the dashboard {self._yaml_file}")
            self._main.loading = False
            html = error_card_html("The dashboard could not be loaded", error_id, exc, policy.dev, whole=True)
            self._main[:] = [pn.pane.HTML(html, sizing_mode="stretch_width")]
        if isinstance(self._layout, Tabs) and self.config.sync_with_url:
            pn.state.location.sync(self._layout, {"active": "layout"})

    return _render_dashboard


def fenced_load_pipelines(original: Callable, settings: Any) -> Callable:
    """``state.load_pipelines`` (state.py:294-302), one pipeline at a time: a pipeline whose source is missing or
    corrupt is replaced by a stand-in carrying the error id, so its layouts still build and only its views become
    cards (:mod:`lumen_ext.security.guards.pipeline_faults`)."""
    dev = policy_of(settings).dev

    def load_pipelines(self: Any, **kwargs: Any) -> dict:
        from lumen.pipeline import Pipeline

        pipelines = self.pipelines
        failed = _failed_pipelines()
        failed.clear()
        for name, pipeline_spec in self.spec.get("pipelines", {}).items():
            cause = None
            try:
                pipelines[name] = Pipeline.from_spec(dict(pipeline_spec, name=name, **kwargs))
                continue
            except Exception as exc:
                parent = pipeline_spec.get("pipeline") if isinstance(pipeline_spec, dict) else None
                error_id = failed.get(parent) if isinstance(parent, str) else None
                if error_id is not None:
                    # Built on a failed parent: the parent's failure is the root cause, and its id the one to quote.
                    log.error(
                        "error %s also stops pipeline %r, which reads pipeline %r", error_id, name, parent
                    )
                else:
                    error_id = record_error(exc, f"loading pipeline {name!r}")
                failed[name] = error_id
                cause = exc if dev else None
            try:
                pipelines[name] = standin_pipeline(name, pipeline_spec, error_id, cause)
            except Exception:  # never worse than before: without a pipeline its layouts become one card each
                log.exception("no stand-in for the failed pipeline %r", name)
                pipelines.pop(name, None)
        return pipelines

    return load_pipelines


def fenced_load_layout(original: Callable, settings: Any) -> Callable:
    """``Dashboard._load_layout``: a layout that fails to build becomes a card in its place."""
    policy = policy_of(settings)

    def _load_layout(self: Any, layout_spec: dict) -> Any:
        try:
            return original(self, layout_spec)
        except Exception as exc:
            title = str(layout_spec.get("title", "Layout"))
            error_id = _failed_cause(layout_spec)
            if error_id is not None:
                # The pipeline's own failure is the story; its error id is the one worth quoting.
                log.error("error %s also hides layout %r, which reads that pipeline", error_id, title)
            else:
                error_id = record_error(exc, f"building layout {title!r}")
            return FaultLayout(
                title, error_card_html(f"{title} could not be shown", error_id, exc, policy.dev, whole=False)
            )

    return _load_layout


def fenced_view_panel(original: property, settings: Any) -> property:
    """``View.panel``: a view whose pipeline failed, or that raises while rendering, becomes a card; the other
    views render."""
    import panel as pn

    policy = policy_of(settings)

    def card(view: Any, title: str, error_id: str, exc: BaseException | None) -> Any:
        return pn.pane.HTML(
            error_card_html(title, error_id, exc, policy.dev, whole=False),
            sizing_mode="stretch_width",
            name=view.name,
        )

    def panel(self: Any) -> Any:
        note_view(self)
        name = _view_label(self)
        error_id = fault_of(self)
        if error_id is not None:
            # The pipeline's failure is already in the log under this id: no second record, no recomputation.
            cause = cause_of(self)
            return card(self, f"{name} could not be shown: its data could not be loaded", error_id, cause)
        try:
            return original.fget(self)
        except Exception as exc:
            error_id = fault_of(self)  # rendering computed the pipeline, which failed: quote that root cause
            if error_id is not None:
                return card(self, f"{name} could not be shown: its data could not be loaded", error_id, exc)
            error_id = record_error(exc, f"rendering view {name!r}")
            return card(self, f"{name} could not be shown", error_id, exc)

    return property(panel)


def _view_label(view: Any) -> str:
    """How a viewer knows the view: its title, else the name the spec gave it, else its kind ("View of type
    hvplot"), never param's generated ``hvPlotView01014``."""
    from panel.util import PARAM_NAME_PATTERN

    if view.title:
        return f"View {view.title}"
    if view.name and not PARAM_NAME_PATTERN.match(view.name):
        return f"View {view.name}"
    return f"View of type {getattr(view, 'view_type', None) or type(view).__name__}"
