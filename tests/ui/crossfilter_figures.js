// The Bokeh figures a page shows, keyed by their x-axis label: where each one's frame is on the page (CSS pixels),
// its axis ranges, and the columns of its glyph renderers' data sources (an image as the sum of its pixels).
() => {
  const figures = {};
  const flat = (value) =>
    value && typeof value === "object" && value.length !== undefined ? Array.from(value, flat).flat() : value;
  const walk = (view) => {
    const model = view.model;
    if (model.renderers && model.below && view.frame) {
      const label = (model.below[0] && model.below[0].axis_label) || "";
      const sources = [];
      for (const renderer of model.renderers) {
        if (renderer.type !== "GlyphRenderer" || !renderer.data_source) continue;
        const data = {};
        for (const [name, column] of Object.entries(renderer.data_source.data)) {
          // An image is summed here: a raster's hundreds of thousands of pixels need not cross to Python.
          data[name] = name === "image"
            ? Array.from(column, (image) => flat(image).reduce((sum, v) => (Number.isFinite(v) ? sum + v : sum), 0))
            : Array.from(column, flat);
        }
        sources.push({ glyph: renderer.glyph.type, data });
      }
      const page = view.el.getBoundingClientRect();
      const bbox = view.frame.bbox;
      figures[label] = {
        frame: [page.left + bbox.left, page.top + bbox.top, bbox.width, bbox.height],
        x_range: [model.x_range.start, model.x_range.end, model.x_range.factors ?? null],
        y_range: [model.y_range.start, model.y_range.end, model.y_range.factors ?? null],
        sources,
      };
    }
    for (const child of view.child_views ?? []) walk(child);
  };
  for (const root of Object.values(window.Bokeh?.index ?? {})) walk(root);
  return figures;
}
