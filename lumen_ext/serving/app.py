"""Build one Bokeh document per browser session from a Lumen spec.

Every session re-validates the spec (it takes milliseconds), so an analyst who fixes a file and reloads the page
sees the result without restarting the server, and a broken spec shows its diagnostics instead of Lumen's blank
page with the error hidden in the server log. Under ``--reload`` (:mod:`lumen_ext.serving.reload`) the page reloads
itself when the file is saved, and the policy is the one the policy file says now.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from lumen_ext.security.errors import error_card_html, record_error
from lumen_ext.security.policy import Policy
from lumen_ext.serving.error_page import error_page_html
from lumen_ext.serving.live_policy import LivePolicy

log = logging.getLogger(__name__)


def _error_view(title: str, summary: str, body_html: str):
    import panel as pn

    return pn.pane.HTML(error_page_html(title, summary, body_html), sizing_mode="stretch_width")


# Errors about the data on disk now, not about the spec: a file deleted (or not yet written) while the server runs
# is a fault of the views that read it (error cards, the rest of the dashboard renders), not a reason to hide the
# whole dashboard behind the diagnostics page. `lumen-ext validate` and the start-up check still report them.
RUN_TIME_DATA_RULES = frozenset({"missing-data-file"})
# Nor do the lock file's errors (`lumen-ext lock`): it describes the data for validate, and a broken or outdated
# lock says nothing about whether the dashboard runs (a used column that is gone is also an `unknown-column`).
LOCK_RULES = frozenset({"lock-invalid", "lock-column-missing"})


def validation_error_view(spec_path: Path, data: bool, policy: Policy, *, reloading: bool = False):
    """The diagnostics page when the spec has errors, else None. ``reloading``: the page reloads on a save."""
    from lumen_ext.validation import render_html, validate_file

    report = validate_file(spec_path, data=data, policy=policy)
    blocking = [
        d
        for d in report.diagnostics
        if d.severity == "error" and d.rule not in RUN_TIME_DATA_RULES and d.rule not in LOCK_RULES
    ]
    for d in report.diagnostics:
        if d.severity == "error" and d.rule in RUN_TIME_DATA_RULES:
            log.warning("%s: %s; the views reading it show error cards", spec_path.name, d.message)
    if not blocking:
        return None
    log.error("%s has %d error(s); serving the diagnostics page", spec_path, report.errors)
    plural = "s" if report.errors != 1 else ""
    then = "this page reloads when you save it" if reloading else "reload this page"
    return _error_view(
        f"{spec_path.name} cannot be served",
        f"lumen-ext validate found {report.errors} error{plural}. Fix the spec and {then}.",
        render_html(report),
    )


def policy_error_view(spec_path: Path, problem: str):
    """The page while a reloading server's policy file cannot be used (the previous policy stays in force)."""
    return _error_view(
        f"{spec_path.name} cannot be served",
        "The server's policy file cannot be used. Fix it and this page reloads when you save it.",
        f"<pre>{html.escape(problem)}</pre>",
    )


def dashboard_app(
    spec_path: Path,
    policy: Policy,
    *,
    validate: bool = True,
    data_checks: bool = True,
    live_policy: LivePolicy | None = None,
) -> Callable[[], object]:
    """A Panel app function serving ``spec_path`` the way Lumen's own YAML handler does.

    ``live_policy``: a reloading server's policy (``--reload``), which takes the place of ``policy``.
    """

    def app():
        current = policy
        if live_policy is not None:
            if live_policy.problem is not None:
                return policy_error_view(spec_path, live_policy.problem)
            current = live_policy.policy
        if validate:
            errors = validation_error_view(spec_path, data_checks, current, reloading=live_policy is not None)
            if errors is not None:
                return errors
        from lumen import Dashboard

        try:
            # Same call as Lumen's YamlHandler: shared sources load with the first session.
            Dashboard(str(spec_path), load_global=False).servable()
        except Exception as exc:
            # The viewer gets an id to quote; the traceback goes to the log (and the page only with --dev).
            error_id = record_error(exc, f"building the dashboard {spec_path.name}")
            card = error_card_html(
                f"{spec_path.name} failed to load", error_id, exc, dev=current.dev, whole=True
            )
            return _error_view(
                f"{spec_path.name} failed to load", "Lumen could not build this dashboard.", card
            )
        return None

    return app
