"""Operating a dashboard's widgets as a viewer does: real clicks and key presses in Chromium.

Widgets are found through the page's Bokeh views: a view whose model (or, for panel-material-ui widgets, whose
model's ``data``) has a ``value`` is a widget, and what the view drew says how to operate it:

* ``mui-select`` (panel-material-ui Select, MultiChoice): open the menu, click an item, close the menu;
* ``native-select`` (Panel's Select, a ``<select>``): choose another option;
* ``mui-slider`` (panel-material-ui sliders, date and datetime ranges): click the rail at a fraction of its width,
  which moves the nearest thumb there, as a click does for a user; back to the maximum with the End key;
* ``bokeh-slider`` (Bokeh's noUiSlider sliders): Page Up/Down on the (upper) handle;
* ``checkbox``: click it.

A widget of any other kind is reported (:class:`~lumen_ext.gate.page.PageProblem`): a spec that brings a new kind
of control needs a way to operate it here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lumen_ext.gate.page import PageProblem, dump

# The visible widgets of the page, with how to operate each, found through the Bokeh view tree.
LIST_CONTROLS_JS = """() => {
  const found = [];
  const kindOf = (root) => {
    if (root.querySelector('[role="combobox"]')) return 'mui-select';
    if (root.querySelector('select')) return 'native-select';
    if (root.querySelector('.MuiSlider-root')) return 'mui-slider';
    if (root.querySelector('.noUi-base')) return 'bokeh-slider';
    if (root.querySelector('input[type="checkbox"]')) return 'checkbox';
    return 'unknown';
  };
  const walk = (view) => {
    const model = view.model.data?.properties?.value ? view.model.data : view.model;
    if (model.properties?.value !== undefined && view.el) {
      const box = view.el.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) {
        const root = view.el.shadowRoot ?? view.el;
        found.push({id: model.id, type: model.type, label: model.label ?? model.title ?? model.name ?? '',
                    kind: kindOf(root), value: model.value});
      }
    }
    for (const child of view.child_views ?? []) walk(child);
  };
  for (const root of Object.values(window.Bokeh.index)) walk(root);
  return found;
}"""

# The element a widget's view drew, by the id of the widget's model.
ELEMENT_JS = """(id) => {
  const walk = (view) => {
    if (view.model.id === id || view.model.data?.id === id) return view;
    for (const child of view.child_views ?? []) { const hit = walk(child); if (hit) return hit; }
    return null;
  };
  for (const root of Object.values(window.Bokeh.index)) { const hit = walk(root); if (hit) return hit.el; }
  return null;
}"""

VALUE_JS = """(id) => {
  for (const doc of window.Bokeh.documents) { const m = doc.get_model_by_id(id); if (m) return m.value; }
  return null;
}"""

MENU_ITEMS = '[role="listbox"] [role="menuitem"], [role="listbox"] [role="option"]'


@dataclass(frozen=True)
class Control:
    id: str
    type: str
    label: str
    kind: str
    value: Any


def visible_controls(page) -> list[Control]:
    return [Control(**found) for found in page.evaluate(LIST_CONTROLS_JS)]


def _normalized(label: str) -> str:
    return label.replace("_", " ").strip().lower()


def single_filter_labels(spec: Any) -> set[str]:
    """Labels (normalized) that name exactly one filter in the whole spec (its data, as YAML gives it).

    Lumen draws a pipeline's filters on every layout that uses the pipeline (or a pipeline chained to it): one
    Panel widget per filter, one Bokeh model per tab. A widget with such a label on a later tab is that same
    filter, already operated on an earlier tab; a label two filters share is operated wherever it shows.
    """
    counts: dict[str, int] = {}
    pipelines = spec.get("pipelines") if isinstance(spec, dict) else None
    for pipeline in (pipelines if isinstance(pipelines, dict) else {}).values():
        filters = pipeline.get("filters") if isinstance(pipeline, dict) else None
        # A list of filters, or a mapping of them by name (Lumen accepts both).
        for spec_filter in filters.values() if isinstance(filters, dict) else filters or []:
            if not isinstance(spec_filter, dict):
                continue
            label = spec_filter.get("label") or spec_filter.get("field")
            if isinstance(label, str):
                counts[_normalized(label)] = counts.get(_normalized(label), 0) + 1
    return {label for label, n in counts.items() if n == 1}


class SharedFilters:
    """Which widgets to operate: a filter whose label names one filter in the spec (:func:`single_filter_labels`)
    only on the first tab showing it; every other widget wherever it shows."""

    def __init__(self, spec: Any) -> None:
        self._single = single_filter_labels(spec)
        self._operated: set[tuple[str, str]] = set()

    def first_showing(self, control: Control) -> bool:
        """Whether ``control`` is to be operated here; records it as operated."""
        key = (_normalized(control.label), control.kind)
        if key[0] in self._single and key in self._operated:
            return False
        self._operated.add(key)
        return True


def current_value(page, control: Control) -> Any:
    return page.evaluate(VALUE_JS, control.id)


def _element(page, control: Control):
    element = page.evaluate_handle(ELEMENT_JS, control.id).as_element()
    if element is None:
        raise PageProblem(f"widget {control.label!r} ({control.type}) is no longer on the page")
    return element


def change(page, control: Control) -> Callable[[], None]:
    """Set ``control`` to another value through its own UI; returns what puts it back, through its UI too."""
    operate = _OPERATIONS.get(control.kind)
    if operate is None:
        raise PageProblem(
            f"no way to operate widget {control.label!r} ({control.type}, {control.kind}):\n{dump(control)}"
        )
    return operate(page, control)


def _menu_item(page, control: Control, pick: Callable[[list[str]], str]) -> str:
    """Open a MUI select's menu, click the item ``pick(values)`` names, close the menu if it stays open."""
    _element(page, control).query_selector('[role="combobox"]').click()
    items = page.locator(MENU_ITEMS)
    items.first.wait_for()
    values = [items.nth(i).get_attribute("value") or items.nth(i).inner_text() for i in range(items.count())]
    picked = pick(values)
    items.nth(values.index(picked)).click()
    if page.locator('[role="listbox"]').count():
        # A multiple select stays open: click outside it, on the menu's backdrop, as a user does.
        page.locator(".MuiBackdrop-root").filter(visible=True).first.click(position={"x": 5, "y": 5})
    page.locator('[role="listbox"]').wait_for(state="detached")
    return picked


def _mui_select(page, control: Control) -> Callable[[], None]:
    multiple = isinstance(control.value, list)
    current = control.value if multiple else [control.value]
    picked = _menu_item(page, control, lambda values: next(v for v in values if v not in current))
    if not multiple:
        return lambda: _menu_item(page, control, lambda values: control.value)

    def unselect() -> None:
        # A multiple select shows what is selected as chips and leaves it out of its menu: delete the chip.
        chips = _element(page, control).query_selector_all(".MuiChip-root")
        chip = next((c for c in chips if c.text_content().strip() == picked), None)
        if chip is None:
            raise PageProblem(f"{control.label!r} shows no chip for {picked!r}")
        chip.query_selector(".MuiChip-deleteIcon").click()

    return unselect


def _native_select(page, control: Control) -> Callable[[], None]:
    select = _element(page, control).query_selector("select")
    options = select.evaluate("s => [...s.options].map(o => o.value)")
    select.select_option(next(v for v in options if v != control.value))
    return lambda: _element(page, control).query_selector("select").select_option(control.value)


def _fraction(page, control: Control, value: Any) -> float:
    """Where ``value`` (a range's upper end) sits along the slider, from 0 to 1."""
    bounds = _element(page, control).query_selector('input[type="range"]')
    lo, hi = float(bounds.get_attribute("min")), float(bounds.get_attribute("max"))
    upper = value[-1] if isinstance(value, list) else value
    return min(1.0, max(0.0, (float(upper) - lo) / (hi - lo)))


def _click_rail(page, control: Control, fraction: float) -> None:
    rail = _element(page, control).query_selector(".MuiSlider-root")
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)


def _press_on_thumb(page, control: Control, key: str) -> None:
    """Press ``key`` on the slider's upper (or only) thumb, which has the keyboard focus as a user's tab gives it."""
    thumbs = _element(page, control).query_selector_all('.MuiSlider-thumb input[type="range"]')
    thumbs[-1].focus()
    thumbs[-1].press(key)


def _mui_slider(page, control: Control) -> Callable[[], None]:
    # Three quarters along, where the upper thumb of a full range moves to; a quarter if the thumb is there already.
    at = _fraction(page, control, control.value)
    _click_rail(page, control, 0.25 if abs(at - 0.75) < 0.05 else 0.75)
    if at >= 1.0:
        # A click on the rail's very last pixel lands outside it; End moves the thumb to the maximum, as for a user.
        return lambda: _press_on_thumb(page, control, "End")
    return lambda: _click_rail(page, control, at)


def _bokeh_handle(page, control: Control):
    element = _element(page, control)
    handle = element.query_selector(".noUi-handle-upper") or element.query_selector(".noUi-handle")
    handle.scroll_into_view_if_needed()
    return handle


def _bokeh_slider(page, control: Control) -> Callable[[], None]:
    handle = _bokeh_handle(page, control)
    before = handle.get_attribute("aria-valuenow")
    at_max = float(before) >= float(handle.get_attribute("aria-valuemax"))
    key, undo = ("PageDown", "PageUp") if at_max else ("PageUp", "PageDown")
    handle.press(key)

    def back() -> None:
        # Page Up/Down move a handle by the same number of steps either way; when the change stopped at a bound,
        # single steps (arrow keys) make up the difference.
        handle = _bokeh_handle(page, control)
        handle.press(undo)
        for _ in range(50):
            now = handle.get_attribute("aria-valuenow")
            if float(now) == float(before):
                return
            handle.press("ArrowRight" if float(now) < float(before) else "ArrowLeft")
        raise PageProblem(f"could not move {control.label!r} back to {before}")

    return back


def _checkbox(page, control: Control) -> Callable[[], None]:
    def toggle() -> None:
        _element(page, control).query_selector('input[type="checkbox"]').click()

    toggle()
    return toggle


_OPERATIONS: dict[str, Callable[[Any, Control], Callable[[], None]]] = {
    "mui-select": _mui_select,
    "native-select": _native_select,
    "mui-slider": _mui_slider,
    "bokeh-slider": _bokeh_slider,
    "checkbox": _checkbox,
}
