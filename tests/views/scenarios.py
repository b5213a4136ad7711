"""Drive a real Lumen dashboard through filter and option changes and report what its plots did, as JSON.

    python tests/views/scenarios.py SPEC.yaml STEPS.json [--cache]

Run in a subprocess by ``test_patching.py`` (Lumen keeps global state per process, and pandas 3.1 deprecation
warnings from Bokeh and Panel stay out of pytest). With ``lumen_ext.views.patching`` installed, the dashboard is
built from the spec and rendered into a Bokeh ``Document``; then each step (set a filter's value or a view
parameter, or open a second session) is applied and, for every view, the report says whether its Bokeh model
survived, what the patcher did, and how the Figure now differs from one freshly built by Lumen's own code from the
same data. With
``--cache`` the stage cache is installed too, as under ``lumen-ext serve``, so a state seen before reuses the
HoloViews object built for it (``plot_memo``).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from figures import describe, differences


def view_model(view):
    """The view's Bokeh model in the document: the Figure of an hvPlot view, the Tabulator of a table."""
    pane = view._panel
    if getattr(pane, "_plots", None):
        plot, _ = next(iter(pane._plots.values()))
        return plot.state
    model, _ = next(iter(pane._models.values()))
    return model


def rebuilt_figure(view):
    """The Figure Lumen's own code builds for the view's current data, in a document of its own."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from lumen_ext import hooks

    params = hooks.original("lumen.views.base:hvPlotView._get_params")(
        view
    )  # Lumen's hvPlotView._get_params: a new HoloViews object
    pane = view._panel.clone(**params)
    doc = Document()
    with set_curdoc(doc):
        pane.get_root(doc)
    plot, _ = next(iter(pane._plots.values()))
    return plot.state


def rows_drawn(figure) -> int:
    from bokeh.models import ColumnDataSource, GlyphRenderer

    sources = {r.data_source.id: r.data_source for r in figure.renderers if isinstance(r, GlyphRenderer)}
    return sum(
        len(next(iter(s.data.values()), [])) for s in sources.values() if isinstance(s, ColumnDataSource)
    )


def report(views, before: dict[str, str]) -> dict[str, dict]:
    import pandas as pd

    from lumen_ext.views import patching

    out = {}
    for name, view in views.items():
        model = view_model(view)
        entry = {"kept": model.id == before[name], "kind": getattr(view, "kind", None)}
        state = patching.patch_state(view)
        if state is not None:
            entry["outcome"] = state.last
            entry["memo_hits"] = state.memo_hits
            entry["replays"] = state.replays
            entry["builds"] = state.builds
            rebuilt = rebuilt_figure(view)
            entry["differences"] = differences(describe(model), describe(rebuilt))
            entry["rows_drawn"] = rows_drawn(model)
            entry["rows_rebuilt"] = rows_drawn(rebuilt)
        else:  # a Table: its Tabulator holds the pipeline's data
            expected = view.get_data().reset_index(drop=True)
            for column in expected.select_dtypes("datetime").columns:  # Bokeh sends dates as epoch ms
                expected[column] = (expected[column] - pd.Timestamp(0)) / pd.Timedelta(milliseconds=1)
            shown = pd.DataFrame({c: model.source.data[c] for c in expected.columns})
            entry["data_equal"] = bool(
                len(shown) == len(expected) and shown.astype(str).equals(expected.astype(str))
            )
        out[name] = entry
    return out


def models_in_sync(doc) -> bool:
    """Whether the document holds exactly the models reachable from its roots (patches may skip Bokeh's walk)."""
    reachable = {model.id for root in doc.roots for model in root.references()}
    return reachable == {model.id for model in doc.models}


def main(spec: Path, steps_path: Path, cache: bool) -> None:
    warnings.simplefilter("ignore")  # pandas 3.1 deprecations inside Bokeh/Panel are not under test
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from lumen_ext import hooks

    hooks.enable("views.patching")
    if cache:
        from lumen_ext.cache import CacheConfig

        hooks.enable("cache", settings=hooks.Settings(cache=CacheConfig()))
    from lumen import Dashboard
    from lumen.state import state
    from lumen.views.base import Table, hvPlotView

    def open_session():
        """A new session: the dashboard built and rendered into a Document of its own."""
        doc = Document()
        with set_curdoc(doc):
            dashboard = Dashboard(str(spec))
            layout = dashboard.layouts[0]
            doc.add_root(pn.Column(layout).get_root(doc))
        views = {
            view.name: view
            for card in layout._cards
            for view in card.views
            if isinstance(view, hvPlotView | Table)  # indicators and the like are not under test
        }
        return doc, views

    steps = json.loads(steps_path.read_text())
    sessions = [open_session()]
    results = []
    for step in steps:
        if step.get("new_session"):
            # Another user opens the dashboard while the first is still connected: its first render, in the
            # initial filter state, may reuse objects the first session built. Reported against a rebuild too.
            sessions.append(open_session())
            doc, views = sessions[-1]
            before = {name: view_model(view).id for name, view in views.items()}
            with set_curdoc(doc):
                results.append(
                    {"step": step, "views": report(views, before), "models_in_sync": models_in_sync(doc)}
                )
            continue
        doc, views = sessions[-1]
        with set_curdoc(doc):
            before = {name: view_model(view).id for name, view in views.items()}
            if "filter" in step:
                pipeline = state.pipelines[step["pipeline"]]
                (filt,) = [f for f in pipeline.filters if f.field == step["filter"]]
                filt.value = step["value"]
            else:
                setattr(views[step["view"]], step["param"], step["value"])
            results.append(
                {"step": step, "views": report(views, before), "models_in_sync": models_in_sync(doc)}
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), cache="--cache" in sys.argv[3:])
