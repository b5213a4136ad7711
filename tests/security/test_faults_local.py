"""Faults stay local inside one dashboard (the browser version is tests/ui/test_faults.py)."""

from __future__ import annotations

import json

EXPLODING_VIEW = """
from lumen.views.base import View

class Exploding(View):
    view_type = "exploding"

    def get_panel(self):
        raise RuntimeError("secret path /srv/private/config.yaml")
"""


def test_a_view_that_raises_becomes_a_card(sandbox, run_scenario):
    spec = sandbox.spec(
        """
        sources:
          local:
            type: file
            tables:
              data: data.csv
        layouts:
          - title: Mixed
            source: local
            views:
              - type: table
                table: data
              - type: exploding
                table: data
        """
    )
    outcome = run_scenario(
        EXPLODING_VIEW
        + f"""
dashboard = build({str(spec)!r})
panels = [view.panel for card in dashboard.layouts[0]._cards for view in card.views]
print("KINDS", [type(p).__name__ for p in panels])
print("CARD", panels[1].object)
"""
    )
    assert "KINDS ['Tabulator', 'HTML']" in outcome.output, outcome.output
    card = outcome.output.split("CARD", 1)[1]
    assert "lx-fault-card" in card and "View of type exploding" in card
    assert "/srv/private" not in card, "no exception text reaches viewers outside dev mode"
    error_id = card.split("data-error-id='", 1)[1][:11]
    assert f"error {error_id} while rendering view" in outcome.output


def test_dev_mode_shows_the_traceback(sandbox, run_scenario):
    spec = sandbox.spec(
        """
        sources:
          local:
            type: file
            tables:
              data: data.csv
        layouts:
          - title: Mixed
            source: local
            views:
              - type: exploding
                table: data
        """
    )
    outcome = run_scenario(
        EXPLODING_VIEW
        + f"""
dashboard = build({str(spec)!r}, Policy(dev=True))
print("CARD", dashboard.layouts[0]._cards[0].views[0].panel.object)
"""
    )
    assert "RuntimeError: secret path /srv/private/config.yaml" in outcome.output.split("CARD", 1)[1]


TWO_SOURCES = """
    config:
      layout: column
    sources:
      good:
        type: file
        tables:
          data: data.csv
      fragile:
        type: file
        tables:
          data: fragile.csv
    pipelines:
      good:
        source: good
        table: data
      fragile:
        source: fragile
        table: data
        filters:
          - type: widget
            field: a
      fragile_sorted:
        pipeline: fragile
        transforms:
          - type: sort
            by: [a]
    layouts:
      - title: Good
        pipeline: good
        views:
          - type: table
      - title: Fragile
        pipeline: fragile
        views:
          - type: table
            title: Rows
            pipeline: fragile  # Lumen 1.4 needs it named once another view names its own pipeline
          - type: table
            title: Sorted
            pipeline: fragile_sorted
    """

PANELS = """
def panels(dashboard):
    # (layout class, [kind of each view's panel]) per layout; cards as (id, title).
    out = []
    for layout in dashboard.layouts:
        kinds = []
        for card in getattr(layout, "_cards", []):
            for view in card.views:
                panel = view.panel
                html = str(getattr(panel, "object", ""))
                if "lx-fault-card" in html:
                    kinds.append(("card", html.split("data-error-id='", 1)[1][:11], html.split("<strong>")[1].split("<")[0]))
                else:
                    kinds.append(type(panel).__name__)
        out.append((type(layout).__name__, kinds))
    return out
"""


def test_a_source_missing_at_load_turns_only_its_views_into_cards(sandbox, run_scenario):
    """A new session while the file is missing: the layout still builds, each view on the failed pipeline (and on
    a pipeline chained to it) is a card with the root cause's id, the other layout renders its table."""
    spec = sandbox.spec(TWO_SOURCES)
    outcome = run_scenario(
        PANELS
        + f"""
dashboard = build({str(spec)!r})
print("PANELS", json.dumps(panels(dashboard)))
"""
    )
    line = outcome.output.split("PANELS ", 1)[1].splitlines()[0]
    (good, good_kinds), (fragile, fragile_kinds) = json.loads(line)
    assert (good, good_kinds) == ("Layout", ["Tabulator"]), outcome.output
    assert fragile == "Layout", "the layout builds: only its views become cards"
    assert [kind[0] for kind in fragile_kinds] == ["card", "card"], fragile_kinds
    ids = {kind[1] for kind in fragile_kinds}
    assert len(ids) == 1, f"every card quotes the root cause, not a follow-on error: {fragile_kinds}"
    (error_id,) = ids
    assert f"error {error_id} while loading pipeline 'fragile': FileNotFoundError" in outcome.output
    assert outcome.output.count("while loading pipeline") == 1, (
        "the chained pipeline records no error of its own"
    )
    assert [kind[2] for kind in fragile_kinds] == [
        "View Rows could not be shown: its data could not be loaded",
        "View Sorted could not be shown: its data could not be loaded",
    ]


def test_a_source_failing_at_run_time_turns_its_views_into_cards_until_it_recovers(sandbox, run_scenario):
    """An open session: the file is deleted, a filter change makes the pipeline compute again. No exception
    escapes the update (Bokeh would log a failed callback and the client would wait), each view of the pipeline
    and of its chained pipeline becomes a card with the one root-cause id, the other layout is untouched; once
    the file is back, the next change brings the tables back."""
    (sandbox.project / "fragile.csv").write_text("a,b\n1,p\n2,q\n3,r\n")
    spec = sandbox.spec(TWO_SOURCES)
    outcome = run_scenario(
        PANELS
        + f"""
dashboard = build({str(spec)!r})
print("HEALTHY", json.dumps(panels(dashboard)))
fragile = Path({str(sandbox.project / "fragile.csv")!r})
text = fragile.read_text()
fragile.unlink()
pipeline = dashboard.layouts[1]._pipelines["fragile"]
pipeline.filters[0].value = (1, 2)  # a new query: the source must read the file again
print("BROKEN", json.dumps(panels(dashboard)))
fragile.write_text(text)
pipeline.filters[0].value = (2, 3)
print("RECOVERED", json.dumps(panels(dashboard)), len(pipeline.data))
"""
    )
    out = outcome.output
    healthy = json.loads(out.split("HEALTHY ", 1)[1].splitlines()[0])
    assert healthy == [["Layout", ["Tabulator"]], ["Layout", ["Column", "Column"]]], out
    broken = json.loads(out.split("BROKEN ", 1)[1].splitlines()[0])
    assert broken[0] == ["Layout", ["Tabulator"]], "the other layout keeps its table"
    cards = broken[1][1]
    assert [c[0] for c in cards] == ["card", "card"], out
    assert len({c[1] for c in cards}) == 1, cards
    error_id = cards[0][1]
    assert f"error {error_id} while computing the data of pipeline 'fragile': FileNotFoundError" in out
    assert "Traceback" in out.split(error_id, 1)[1], "the log has the root exception's traceback under the id"
    assert "Callback failed" not in out and "raised FileNotFoundError" not in out, (
        "no toast, no failed callback"
    )
    recovered = out.split("RECOVERED ", 1)[1].splitlines()[0]
    # A titled view's panel is a Column (title, table), as Lumen lays it out.
    assert recovered.startswith('[["Layout", ["Tabulator"]], ["Layout", ["Column", "Column"]]]'), out
    assert recovered.endswith(" 2"), recovered
    assert f"computes again after error {error_id}" in out


def test_dev_mode_shows_the_root_cause_on_the_cards_of_a_failed_pipeline(sandbox, run_scenario):
    spec = sandbox.spec(TWO_SOURCES)
    outcome = run_scenario(
        f"""
dashboard = build({str(spec)!r}, Policy(dev=True))
print("CARD", dashboard.layouts[1]._cards[0].views[0].panel.object)
"""
    )
    card = outcome.output.split("CARD", 1)[1]
    assert "lx-fault-card" in card and "FileNotFoundError" in card and "Traceback" in card, card
