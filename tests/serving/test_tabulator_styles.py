"""`lumen_ext.serving.tabulator_styles`: an unstyled Tabulator's updates skip the Styler, and show the same data.

Run in fresh interpreters: the patch is process-wide, and a Tabulator update raises pandas 3.1 deprecation
warnings inside Bokeh/Panel that pytest would turn into errors.
"""

from __future__ import annotations

from support.probe import run_python

# Renders a Tabulator into a Document, replaces its value three times and reports what the browser model holds,
# with the style work counted; PATCHED decides whether the patch is installed.
SCRIPT = """
import json, warnings
warnings.simplefilter('ignore')
import pandas as pd
from bokeh.document import Document
from panel.io.state import set_curdoc
from panel.widgets.tables import Tabulator
from lumen_ext import hooks
if PATCHED:
    hooks.enable("serving.tabulator.styles")
computed = []
original_get_style_data = Tabulator._get_style_data
def counting(self, recompute=True):
    computed.append(recompute)
    return original_get_style_data(self, recompute)
Tabulator._get_style_data = counting
frames = [pd.DataFrame({'service': list('abc')[: 3 - i % 2], 'fare': [1.5 * i, -2.0, 3.0][: 3 - i % 2]})
          for i in range(4)]
doc = Document()
with set_curdoc(doc):
    table = Tabulator(frames[0], disabled=True)
    if STYLED:
        table.style.map(lambda v: 'color: red' if isinstance(v, float) and v < 0 else '')
    model = table.get_root(doc)
    doc.add_root(model)
    computed.clear()
    for frame in frames[1:]:
        table.value = frame
data = {k: [str(v) for v in vals] for k, vals in model.source.data.items()}
print(json.dumps({'data': data, 'styles': model.cell_styles.get('data'), 'computed': len(computed)}))
"""


def render(patched: bool, styled: bool) -> dict:
    code = f"PATCHED = {patched}\nSTYLED = {styled}\n{SCRIPT}"
    return run_python(code)


def test_panel_still_restyles_every_update():
    """The code the patch replaces: every data update ends in ``_update_style``, which sends ``cell_styles``."""
    code = (
        "import inspect, json\n"
        "from panel.widgets.tables import Tabulator\n"
        "cds = inspect.getsource(Tabulator._update_cds)\n"
        "style = inspect.getsource(Tabulator._update_style)\n"
        "data = inspect.getsource(Tabulator._get_style_data)\n"
        "print(json.dumps({'cds': 'self._update_style(recompute)' in cds,\n"
        "                  'sends': \"msg = {'cell_styles': styles}\" in style,\n"
        "                  'styler': 'self._computed_styler = styler = df.style' in data,\n"
        "                  'todo': 'styler._todo = styler_update(self.style, df)' in data}))"
    )
    facts = run_python(code)
    assert facts == {"cds": True, "sends": True, "styler": True, "todo": True}, (
        "Panel changed Tabulator's style updates: review lumen_ext.serving.tabulator_styles"
    )


def test_unstyled_table_shows_the_same_data_without_computing_styles():
    panel, patched = render(patched=False, styled=False), render(patched=True, styled=False)
    assert patched["data"] == panel["data"] and patched["data"]["service"] == ["a", "b"]
    assert patched["styles"] == panel["styles"] == {}
    assert panel["computed"] == 3 and patched["computed"] == 0


def test_styled_table_is_restyled_as_panel_does():
    panel, patched = render(patched=False, styled=True), render(patched=True, styled=True)
    assert patched == panel
    assert patched["styles"] and patched["computed"] == 3
