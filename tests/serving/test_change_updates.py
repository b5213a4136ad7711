"""Run-time fixes of the per-change path (`design_updates`, `tabulator_selection`): less work, the same updates.

Each fix is checked two ways. The Panel code it replaces is pinned, so an upgrade that changes it fails here
instead of silently bypassing or breaking the fix. And ``change_stream.py`` drives a real Lumen dashboard (with its
template, design and busy spinner) through filter changes and a stylesheet change with and without the fix, in
fresh interpreters with the same hash seed: what a browser would receive must be identical, event for event, while
the work the fix avoids is no longer done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scale.helpers import write_project
from support.probe import run_python

STREAM = Path(__file__).with_name("change_stream.py")


@pytest.fixture(scope="module")
def sales_spec(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("sales"), rows=500)["sales"]


def stream(spec: Path, *fixes: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # set iteration order in the serialized models
    result = subprocess.run(
        [sys.executable, str(STREAM), str(spec), *fixes],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=spec.parent,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# Panel 1.9.4's method: the design's parameters are used only when the change includes stylesheets.
PANEL_UPDATE_PROPERTIES = """\
def _update_properties(self, *events: param.parameterized.Event, doc: Document) -> dict[str, t.Any]:
    params, _ = self._design.params(self, doc) if self._design else ({}, None)
    changes = {event.name: event.new for event in events}
    if 'stylesheets' in changes and 'stylesheets' in params:
        changes['stylesheets'] = params['stylesheets'] + changes['stylesheets']
    return self._process_param_change(changes)
"""


def test_panel_resolves_the_design_for_every_parameter_change():
    code = (
        "import inspect, json, textwrap\n"
        "from panel.reactive import Reactive, Syncable\n"
        "print(json.dumps({'reactive': textwrap.dedent(inspect.getsource(Reactive._update_properties)),\n"
        "                  'syncable': inspect.getsource(Syncable._update_properties)}))"
    )
    sources = run_python(code)
    assert sources["reactive"] == PANEL_UPDATE_PROPERTIES, (
        "Panel changed Reactive._update_properties: review lumen_ext.serving.design_updates"
    )
    assert sources["syncable"].rstrip().endswith("return self._process_param_change(changes)")


def test_panel_locates_even_an_empty_selection():
    code = (
        "import inspect, json\n"
        "from panel.widgets.tables import Tabulator\n"
        "src = inspect.getsource(Tabulator._update_selected)\n"
        "cds = inspect.getsource(Tabulator._update_cds)\n"
        "print(json.dumps({'iloc': 'index = self.value.iloc[self.selection].index' in src,\n"
        "                  'only_indices': src.count(\"kwargs['indices'] = indices\") == 1,\n"
        "                  'ends_in_super': src.rstrip().endswith('super()._update_selected(*events, **kwargs)'),\n"
        "                  'per_update': 'self._update_selected()' in cds}))"
    )
    facts = run_python(code)
    assert facts == {"iloc": True, "only_indices": True, "ends_in_super": True, "per_update": True}, (
        "Panel changed Tabulator._update_selected: review lumen_ext.serving.tabulator_selection"
    )


def test_fixed_change_path_sends_the_same_events(sales_spec):
    panel = stream(sales_spec)
    fixed = stream(sales_spec, "serving.design-updates", "serving.tabulator.selection")
    data_changes = [[e for e in change if e["kind"] == "ColumnDataChanged"] for change in panel["changes"]]
    assert all(data_changes[:4]), "each new filter value sent the table's new data"
    selected = [e for e in panel["changes"][-3] if e.get("attr") == "indices"]
    assert selected and selected[0]["new"] == [1], "the row selection was sent"
    assert panel["changes"][-1], "the stylesheet change was sent"
    assert fixed["initial"] == panel["initial"]
    assert fixed["changes"] == panel["changes"]
    # The design is resolved only for the stylesheet change (once per model of the table), not per filter change.
    assert panel["calls"]["Design.params"] > 2 * len(panel["changes"])
    assert 0 < fixed["calls"]["Design.params"] <= 2
    # Panel's selection lookup runs only while a row is selected.
    assert panel["calls"]["Tabulator._update_selected"] >= sum(map(bool, data_changes))
    assert 0 < fixed["calls"]["Tabulator._update_selected"] <= 2
