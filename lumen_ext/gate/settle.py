"""Waiting for a dashboard to settle, and timing it: until when did the page, and each view, still change?

The page is polled (every ``poll`` seconds): the Bokeh document (models, data sources, what the canvases show) and
each located view (`lumen_ext.gate.outline`: its data sources' rows and contents, its text, its canvases). The page
has settled when nothing changed for ``stable_polls`` polls, no spinner shows and, for a first render, something
drew. A view's time is from ``t0`` until the poll that saw its last change: to within one poll interval, and
including what the browser needs to draw it, as a viewer experiences it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lumen_ext.gate.outline import LayoutOutline
from lumen_ext.gate.page import (
    CANVAS_PIXELS_JS,
    PROBE_JS,
    RENDER_TIMEOUT,
    PageProblem,
    alert_text,
    dump,
    probe,
)
from lumen_ext.security.errors import CARD_CLASS
from lumen_ext.views.empty_results import NOTE_CLASS

__all__ = ["NoChange", "Settled", "Snapshot", "ViewState", "settle", "snapshot"]


class NoChange(PageProblem):
    """The page showed nothing new within the time allowed after an action that was to change it."""


# One read of the page per poll: the probe's state of the document, a digest of what its canvases show, and for
# each layout title and view path the view's state, found through the Bokeh view tree (see outline.py). Each
# canvas is read back once, whether the document's digest or a view's needs it.
_SNAPSHOT_JS = (
    "(layouts) => {"
    + CANVAS_PIXELS_JS
    + f"""
  const state = ({PROBE_JS.strip()})('state');
  const hashes = new Map();
  const hashOf = (canvas) => {{
    if (!hashes.has(canvas)) hashes.set(canvas, canvasDigest([canvas]));
    return hashes.get(canvas);
  }};
  const CARD = '{CARD_CLASS}', NOTE = '{NOTE_CLASS}';
  // A layout's cards: the card named after it, or, faceted, the cards (named after their facet) of the column
  // named after it.
  const isCard = (view) => view.model.type.endsWith('Card');
  const cardsNamed = (title) => {{
    const found = new Set();
    const walk = (view) => {{
      if (view.model.name === title) {{
        if (isCard(view)) found.add(view);
        for (const child of view.child_views ?? []) if (isCard(child)) found.add(child);
      }}
      for (const child of view.child_views ?? []) walk(child);
    }};
    for (const root of Object.values(window.Bokeh?.index ?? {{}})) walk(root);
    return [...found];
  }};
  const follow = (card, path) => {{
    let view = card.child_views?.[card.child_views.length - 1];  // the card's header comes first
    for (const i of path) view = view?.child_views?.[i];
    return view ?? null;
  }};
  const rows = (src) => {{ const cols = Object.values(src.data ?? {{}}); return cols.length ? (cols[0].length ?? 0) : 0; }};
  const digest = (src) => {{
    const parts = [];
    for (const [name, col] of Object.entries(src.data ?? {{}}).sort(([a], [b]) => a.localeCompare(b))) {{
      let finite = 0, sum = 0, strings = 0, chars = 0;
      for (const v of Array.from(col ?? [])) {{
        if (typeof v === 'number' && Number.isFinite(v)) {{ finite += 1; sum += v; }}
        else if (typeof v === 'string') {{ strings += 1; chars += v.length; }}
      }}
      parts.push(`${{name}}=${{finite}}/${{sum.toPrecision(12)}}/${{strings}}/${{chars}}`);
    }}
    return `${{rows(src)}}:${{parts.join(',')}}`;
  }};
  const describe = (views) => {{
    const sources = new Set(), canvases = [];
    let text = '', cards = 0, notes = 0;
    const walk = (view) => {{
      const m = view.model;
      for (const r of m.renderers ?? []) if (r.data_source) sources.add(r.data_source);
      if (m.source && m.source.type === 'ColumnDataSource') sources.add(m.source);
      // Vega (Altair): the data source its spec's top-level data names (earlier ones are kept), else all
      const vega = m.data_sources ?? {{}}, named = m.data?.data?.name;
      for (const s of named && vega[named] ? [vega[named]] : Object.values(vega))
        if (s?.type === 'ColumnDataSource') sources.add(s);
      if (typeof m.text === 'string') {{
        text += m.text;
        if (m.text.includes(CARD)) cards += 1;
        if (m.text.includes(NOTE)) notes += 1;
      }}
      for (const child of view.child_views ?? []) walk(child);
    }};
    for (const view of views) {{ walk(view); if (view.el) canvases.push(...canvasesUnder(view.el)); }}
    const shown = [...sources];
    const total = shown.reduce((n, s) => n + rows(s), 0);
    return {{
      found: views.length > 0,
      rows: total,
      sources: shown.length,
      text: text.length,
      cards,
      empty: notes > 0 || (shown.length > 0 ? total === 0 : text.length === 0 && canvases.length === 0),
      digest: `${{shown.map(digest).sort().join('|')}}#${{text.length}}:${{text.slice(-200)}}#${{canvases.map(hashOf).join(';')}}`,
    }};
  }};
  const views = {{}};
  for (const {{title, views: paths}} of layouts) {{
    const cards = cardsNamed(title);
    views[title] = {{}};
    for (const [name, path] of Object.entries(paths))
      views[title][name] = describe(cards.map((card) => follow(card, path)).filter(Boolean));
  }}
  return {{state, canvases: canvasesUnder(document).map(hashOf).join(';'), views}};
}}"""
)


@dataclass(frozen=True)
class ViewState:
    found: bool
    rows: int
    sources: int
    text: int
    cards: int  # lumen-ext fault cards in it
    empty: bool
    digest: str


@dataclass(frozen=True)
class Snapshot:
    """What the page showed at one moment: the document, and each located view by (layout title, view name)."""

    shown: tuple[str, str]  # the shown sources' fingerprint, and what the canvases show
    document: tuple[int, str]  # all models, and all sources' fingerprint: stable once Lumen stopped building
    content: bool  # something drew (renderers with rows, tables, Vega/deck.gl/Plotly)
    views: dict[tuple[str, str], ViewState] = field(default_factory=dict)


@dataclass
class Settled:
    seconds: float | None  # from t0 until what the page shows last changed (None: it did not change)
    last: Snapshot
    view_seconds: dict[tuple[str, str], float] = field(default_factory=dict)  # the views that changed


def snapshot(page, layouts: list[LayoutOutline]) -> Snapshot:
    wanted = [
        {"title": layout.title, "views": {k: list(v) for k, v in layout.views.items()}} for layout in layouts
    ]
    read = page.evaluate(_SNAPSHOT_JS, wanted)
    state = read["state"]
    views = {
        (title, name): ViewState(**found)
        for title, by_name in read["views"].items()
        for name, found in by_name.items()
    }
    content = bool(any(state["renderers"]) or state["tables"] or state["other_plots"])
    return Snapshot(
        (state["shown_fingerprint"], read["canvases"]),
        (state["models"], state["fingerprint"]),
        content,
        views,
    )


def settle(
    page,
    t0: float,
    layouts: list[LayoutOutline],
    *,
    before: Snapshot | None = None,
    require_content: bool = True,
    require_change: bool = False,
    poll: float = 0.25,
    stable_polls: int = 3,
    timeout: float = RENDER_TIMEOUT,
    what: str = "the dashboard",
) -> Settled:
    """Poll until the page settles; times are seconds since ``t0`` (``time.monotonic()``).

    ``before``: what the page showed before the action being timed (a change is measured against it).
    ``require_change``: the page must show something else than ``before`` first (a control that changed
    nothing raises :class:`NoChange` after ``timeout``).
    """
    page.wait_for_function(
        "() => window.Bokeh && window.Bokeh.documents.length > 0", timeout=RENDER_TIMEOUT * 1000
    )
    deadline = time.monotonic() + timeout
    previous = before
    changed_at: float | None = None
    view_changed: dict[tuple[str, str], float] = {}
    stable = 0
    while True:
        page.wait_for_timeout(poll * 1000)
        now = time.monotonic()
        alert = alert_text(page)
        if alert is not None:
            raise PageProblem(f"{what} shows an error: {alert}")
        current = snapshot(page, layouts)
        moved = before is None or current.shown != before.shown
        ready = (current.content or not require_content) and (moved or not require_change)
        loading = page.locator(".pn-loading").count()
        if previous is not None and (current.shown, current.document) == (previous.shown, previous.document):
            stable = stable + 1 if ready and not loading else 0
        else:
            stable = 0
            if previous is None or current.shown != previous.shown:
                changed_at = now  # what the page shows changed (not merely its model count)
        for key, view in current.views.items():
            old = previous.views.get(key) if previous is not None else None
            if old is None or old.digest != view.digest:
                view_changed[key] = now
        previous = current
        if stable >= stable_polls:
            return Settled(
                None if changed_at is None else changed_at - t0,
                current,
                {key: at - t0 for key, at in view_changed.items()},
            )
        if now > deadline:
            if require_change and not moved:
                raise NoChange(f"{what}: no view changed within {timeout:g}s")
            raise PageProblem(f"{what} did not settle within {timeout:g}s\n{dump(probe(page))}")
