// Reads the Bokeh document of a served page: what drew, what holds data, which filter widgets exist.
// Sources and renderers are found by their Bokeh type name; widgets by shape, since Panel, Bokeh and
// panel-material-ui each bring their own Select/MultiChoice/slider models.
(action) => {
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  const models = [];
  for (const doc of docs) {
    const all = doc.all_models ?? doc._all_models;
    for (const m of (all.values ? all.values() : all)) models.push(m);
  }
  const isSource = (m) => m.type === "ColumnDataSource";
  const isRenderer = (m) => m.type === "GlyphRenderer";
  const rows = (src) => {
    const cols = Object.values(src.data ?? {});
    return cols.length ? (cols[0].length ?? 0) : 0;
  };
  const digest = (src) => {
    // Fingerprint of every column: finite-number count and sum, plus string count and total length. A filter
    // that blanks values (an outer join leaves NaN) changes it even when the row count stays the same.
    const parts = [];
    for (const [name, col] of Object.entries(src.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      let finite = 0, sum = 0, strings = 0, chars = 0;
      for (const v of Array.from(col ?? []).flatMap((x) => (x && typeof x === "object" && x.length !== undefined ? Array.from(x) : [x]))) {
        if (typeof v === "number" && Number.isFinite(v)) { finite += 1; sum += v; }
        else if (typeof v === "string") { strings += 1; chars += v.length; }
      }
      parts.push(`${name}=${finite}/${sum.toPrecision(12)}/${strings}/${chars}`);
    }
    return `${rows(src)}:${parts.join(",")}`;
  };
  // Vega (Altair) panes hold their tables as data sources (panel.models.vega.VegaPlot.data_sources), keeping
  // earlier ones: the one shown is the one the spec's top-level data names.
  const vegaSources = (m) => {
    const all = m.data_sources ?? {};
    const named = m.data?.data?.name;
    return (named && all[named] ? [all[named]] : Object.values(all)).filter(isSource);
  };
  // Sources the page shows: those of the renderers of drawn plots and of drawn tables, found through the view
  // tree. The document can hold more: models a re-render replaced linger in BokehJS's model index.
  const shownSources = () => {
    const shown = new Set();
    const walk = (view) => {
      for (const renderer of view.model.renderers ?? []) if (renderer.data_source) shown.add(renderer.data_source);
      if (view.model.source && isSource(view.model.source)) shown.add(view.model.source);
      for (const source of vegaSources(view.model)) shown.add(source);
      for (const child of view.child_views ?? []) walk(child);
    };
    for (const root of Object.values(window.Bokeh?.index ?? {})) walk(root);
    return [...shown];
  };
  const widgets = models.filter((m) => m.value !== undefined && !isSource(m) && (
    (m.options !== undefined && Array.isArray(m.options)) ||
    (Array.isArray(m.value) && m.start !== undefined && m.end !== undefined)));
  if (action === "state") {
    const sources = models.filter(isSource);
    return {
      documents: docs.length,
      models: models.length,
      renderers: models.filter(isRenderer).map((r) => rows(r.data_source)),
      tables: models.filter((m) => m.type.endsWith("DataTabulator")).length,
      // Views that draw without Bokeh glyphs: Vega/Altair, deck.gl, Plotly.
      other_plots: models.filter((m) => /(VegaPlot|DeckGLPlot|PlotlyPlot)$/.test(m.type)).length,
      sources: sources.map(rows),
      fingerprint: sources.map(digest).sort().join("|"),
      shown_fingerprint: shownSources().map(digest).sort().join("|"),
      widgets: widgets.map((w) => ({ id: w.id, title: w.label ?? w.title ?? w.name ?? "", value: w.value,
                                     options: w.options, start: w.start, end: w.end })),
    };
  }
  const setValue = (w, value) =>
    // A slider drag ends by setting value_throttled too; Lumen's throttled filters (the default) watch only that.
    w.setv(w.value_throttled !== undefined ? { value, value_throttled: value } : { value });
  if (action === "restore") {
    const { id, value } = window.__lumenExtChanged;
    setValue(models.find((m) => m.id === id), value);
    return { set: value };
  }
  if (action.startsWith("change:")) {
    // Set a filter widget to a different value, the way its own UI event would (setv syncs to the server),
    // remembering the old value for "restore".
    const w = widgets.find((m) => m.id === action.slice(7));
    window.__lumenExtChanged = { id: w.id, value: w.value };
    if (w.options !== undefined) {
      const values = w.options.map((o) => (Array.isArray(o) ? o[0] : o));
      const current = Array.isArray(w.value) ? w.value : [w.value];
      const pick = values.find((v) => !current.includes(v) && v !== "");
      setValue(w, Array.isArray(w.value) ? [pick] : pick);
      return { set: pick };
    }
    // Snap to the slider's step: an integer slider refuses floats, as its own UI never sends them.
    const [lo, hi] = [Number(w.start), Number(w.end)];
    const step = Number(w.step) > 0 ? Number(w.step) : (hi - lo) / 100;
    const at = (fraction) => lo + Math.round(((hi - lo) * fraction) / step) * step;
    const value = [at(0.25), at(0.5)];
    setValue(w, value);
    return { set: value };
  }
  throw new Error(`unknown action ${action}`);
}
