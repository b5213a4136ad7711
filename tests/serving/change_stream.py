"""What a browser receives for a series of filter changes on a Lumen dashboard, as JSON lines (run as a script).

    python tests/serving/change_stream.py SPEC.yaml [FIX ...]

Run in fresh interpreters by ``test_change_updates.py``, once with and once without run-time fixes of the change
path, to show a fix sends exactly what Panel would. The dashboard is built with its template (the design and the
busy spinner included) into a Bokeh ``Document``, with what ``lumen-ext serve`` installs on that path (the stage
cache, ``serving.lumen-fixes``, ``serving.tabulator.styles``) plus the hooks named on the command line. Then the filter
widget receives browser changes (``_process_events``, as Panel's WebSocket handler delivers them: with the busy
events), and every document event is serialized as Bokeh serializes a PATCH-DOC for the browser: models the
browser already holds as references, new ones in full, arrays inline. Model ids are renumbered in order of first
appearance (the initial document first), so two runs compare although ids of models never sent (stylesheets Panel
builds and drops) are used up differently. Prints one JSON object: the initial document, the events per change, and
how often the changes called the Panel code the fixes avoid (``calls``).
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

# Values of the sales dashboard's region filter (a multi-select): new states, then states seen before.
CHOICES = [["North"], ["South"], ["East", "West"], ["North"], [], ["South"]]


def main(spec: Path, fixes: list[str]) -> None:
    warnings.simplefilter("ignore")  # pandas 3.1 deprecations inside Bokeh/Panel are not under test

    import panel as pn
    from bokeh.core.serialization import Serializer
    from bokeh.document import Document
    from panel.io.state import set_curdoc
    from panel.theme.base import Design
    from panel.widgets.tables import Tabulator

    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig

    # Calls of the Panel code the fixes avoid, counted through wrappers installed before the fixes take them over.
    calls = {"Design.params": 0, "Tabulator._update_selected": 0}
    design_params, update_selected = Design.params, Tabulator._update_selected

    def counted_design_params(self, *args, **kwargs):
        calls["Design.params"] += 1
        return design_params(self, *args, **kwargs)

    def counted_update_selected(self, *args, **kwargs):
        calls["Tabulator._update_selected"] += 1
        return update_selected(self, *args, **kwargs)

    Design.params, Tabulator._update_selected = counted_design_params, counted_update_selected
    hooks.enable(
        "serving.lumen-fixes",
        "serving.tabulator.styles",
        "cache",
        *fixes,
        settings=hooks.Settings(cache=CacheConfig()),
    )
    from lumen import Dashboard

    doc = Document()
    with set_curdoc(doc):
        dashboard = Dashboard(str(spec), load_global=False)
        dashboard._template.server_doc(doc)
    pn.state._on_load(doc)  # what the browser's document_ready triggers: Lumen renders its layouts
    (pipeline,) = dashboard.layouts[0]._pipelines.values()
    widget = pipeline.filters[0].widget
    table = dashboard.layouts[0]._cards[0].views[0]._panel  # the Tabulator on the page

    known: set[str] = {model.id for model in doc.models}
    changes: list[list] = []

    def record(event) -> None:
        if not hasattr(event, "to_serializable"):  # session callbacks added or removed: never sent
            return
        serializer = Serializer(references={m for m in doc.models if m.id in known}, deferred=False)
        changes[-1].append(event.to_serializable(serializer))
        known.update(model.id for model in doc.models)

    initial = doc.to_json(deferred=False)
    doc.on_change(record)
    calls.update(dict.fromkeys(calls, 0))
    # The filter changes; a row selected, then a filter change with it; a change of the table's stylesheets (the
    # case where Panel needs the design's sheets).
    steps = [{"value": choice} for choice in CHOICES]
    steps += [{"selection": [1]}, {"value": ["East"]}, {"stylesheets": [":host { color: teal; }"]}]
    for step in steps:
        changes.append([])
        with set_curdoc(doc):
            if "value" in step:
                widget._process_events(step)
            else:
                table.param.update(step)
        # Panel held some events for its next tick (no IOLoop runs here): they go out as they would then.
        for callback in list(doc.session_callbacks):
            doc.remove_next_tick_callback(callback)
        if doc.callbacks.hold_value:
            doc.unhold()
    text = json.dumps({"initial": initial, "changes": changes, "calls": calls}, sort_keys=True, default=str)
    text = re.sub(r"[0-9a-f]{32}", "UUID", text)  # Panel names its ESM model classes and comm ids with uuid4
    text = re.sub(r"-\d{9,}", "-ID", text)  # and some layouts after the Python object's id()
    text = re.sub(r"Last updated: [^\"]*", "Last updated: TIME", text)  # Lumen's clock in the layout's header
    ids: dict[str, str] = {}
    print(re.sub(r'"(p\d+)"', lambda m: '"' + ids.setdefault(m.group(1), f"m{len(ids)}") + '"', text))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
