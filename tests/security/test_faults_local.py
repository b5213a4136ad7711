"""Faults stay local inside one dashboard (the browser version is tests/ui/test_faults.py)."""

from __future__ import annotations

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
    assert "lx-fault-card" in card and "View Exploding" in card
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


def test_a_failing_source_hides_only_its_layout(sandbox, run_scenario):
    spec = sandbox.spec(
        """
        config:
          layout: column
        sources:
          good:
            type: file
            tables:
              data: data.csv
          gone:
            type: file
            tables:
              data: missing.csv
        pipelines:
          good:
            source: good
            table: data
          gone:
            source: gone
            table: data
            filters:
              - type: widget
                field: a
        layouts:
          - title: Good
            pipeline: good
            views:
              - type: table
          - title: Gone
            pipeline: gone
            views:
              - type: table
        """
    )
    outcome = run_scenario(
        f"""
dashboard = build({str(spec)!r})
print("LAYOUTS", [type(layout).__name__ for layout in dashboard.layouts])
"""
    )
    assert "LAYOUTS ['Layout', 'FaultLayout']" in outcome.output, outcome.output
    assert "Gone could not be shown" in outcome.output
    assert "also hides layout 'Gone'" in outcome.output
