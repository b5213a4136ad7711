"""The fault cards' wording: a card that stands for the whole dashboard never says the rest of it is unaffected."""

from __future__ import annotations

from lumen_ext.security.errors import error_card_html

UNAFFECTED = "rest of the dashboard is unaffected"


def test_part_and_whole_cards_say_different_things():
    part = error_card_html("Sales could not be shown", "lx-00000000", whole=False)
    whole = error_card_html("The dashboard could not be loaded", "lx-00000000", whole=True)
    assert UNAFFECTED in part
    assert UNAFFECTED not in whole
    assert "The dashboard could not be shown. Reload the page to try again." in whole


def test_a_dashboard_that_fails_to_build_gets_the_whole_dashboard_card(sandbox, run_scenario):
    """`lumen-ext serve`'s app (validation off, as with --no-validate) on a spec Lumen fails to build: a widget
    variable whose `kind` Panel does not have raises while the Dashboard is constructed."""
    spec = sandbox.spec(
        "variables:\n  n:\n    type: widget\n    kind: IntSlidr\n"
        "sources:\n  local:\n    type: file\n    tables:\n      data: data.csv\n"
        "layouts:\n  - title: Data\n    source: local\n    views:\n      - type: table\n        table: data\n"
    )
    outcome = run_scenario(
        f"""
        from lumen_ext.serving.app import dashboard_app
        harden(Policy())
        page = dashboard_app(Path({str(spec)!r}), Policy(), validate=False)()
        print("PAGE", page.object)
        """
    )
    page = outcome.output.split("PAGE", 1)[1]
    assert "failed to load" in page
    assert "lx-fault-card" in page
    assert UNAFFECTED not in page
    assert "The dashboard could not be shown" in page
