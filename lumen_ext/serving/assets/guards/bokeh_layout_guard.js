// lumen-ext: a guard for a BokehJS race (served by lumen_ext/serving/browser_guards.py; hook
// serving.browser-guards.plot-layout in lumen_ext/hooks/table.py).
//
// When a Lumen reload button rebuilds the views, a parent layout can lay out a Figure whose view has not built its
// canvas layout yet: PlotView._measure_layout and PlotView._after_layout read this.layout.top_panel (left_panel)
// while this.layout is still undefined, the page gets an uncaught TypeError and the re-render may stop
// (panel-extensions/panel-material-ui#548). Until the view has a layout, both are skipped, as BokehJS's own
// LayoutDOMView does for a child without one: the plot stays paused (PlotView.initialize pauses it; only
// _after_layout unpauses it) until its _update_layout builds the layout and the next layout pass measures it.
(function () {
  "use strict";
  const Plot = window.Bokeh && window.Bokeh.Models && window.Bokeh.Models.get("Plot");
  const view = Plot && Plot.prototype.default_view && Plot.prototype.default_view.prototype;
  if (view == null) {
    return;
  }
  for (const name of ["_measure_layout", "_after_layout"]) {
    const original = view[name];
    if (typeof original !== "function" || original.lumen_ext_guard) {
      continue;
    }
    const guarded = function (...args) {
      if (this.layout == null) {
        return;
      }
      return original.apply(this, args);
    };
    guarded.lumen_ext_guard = true;
    view[name] = guarded;
  }
})();
