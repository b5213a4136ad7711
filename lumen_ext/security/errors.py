"""What a viewer sees when something fails: a short card with an error id; the details go to the server log.

Lumen shows ``html.escape(traceback)`` to every viewer by default (``config.show_traceback: true``), which hands out
file paths, library versions and sometimes data. Here each failure is logged once with a fresh id, and the page
shows that id, so a viewer can quote it and the operator can find the traceback with ``grep``. With ``dev`` the
card also carries the traceback, as Lumen's does.
"""

from __future__ import annotations

import html
import logging
import secrets
import traceback

__all__ = ["CARD_CLASS", "error_card_html", "record_error"]

log = logging.getLogger("lumen_ext.security")

# The CSS class of every fault card; browser tests and operators' style sheets key on it.
CARD_CLASS = "lx-fault-card"


def record_error(exc: BaseException, where: str) -> str:
    """Log ``exc`` with a new error id (``lx-`` and 8 hex digits) and return the id."""
    error_id = f"lx-{secrets.token_hex(4)}"
    log.error("error %s while %s: %s: %s", error_id, where, type(exc).__name__, exc, exc_info=exc)
    return error_id


def error_card_html(
    title: str, error_id: str, exc: BaseException | None = None, dev: bool = False, *, whole: bool
) -> str:
    """An escaped HTML card saying what failed, with the id; the traceback only when ``dev``. ``whole``: the card
    stands for the whole dashboard, so it does not tell the viewer the rest is unaffected (required: every
    caller says which, since a whole-dashboard card that promised an unaffected rest misled viewers)."""
    detail = ""
    if dev and exc is not None:
        tb = "".join(traceback.format_exception(exc))
        detail = f"<pre style='white-space: pre-wrap; font-size: 11px'>{html.escape(tb)}</pre>"
    explanation = (
        "The dashboard could not be shown. Reload the page to try again."
        if whole
        else "This part of the dashboard could not be shown. The rest of the dashboard is unaffected; reload the "
        "page to try again."
    )
    return (
        f"<div class='{CARD_CLASS}' role='alert' data-error-id='{html.escape(error_id)}' "
        "style='border: 1px solid #d0d7de; border-left: 4px solid #b42318; border-radius: 6px; "
        "padding: 0.75rem 1rem; background: #fff5f5; color: #1f2328; font-family: system-ui, sans-serif'>"
        f"<strong>{html.escape(title)}</strong>"
        f"<div>{explanation}</div>"
        f"<div style='color: #57606a; font-size: 0.85em'>Error id: <code>{html.escape(error_id)}</code> "
        "(the server log has the details)</div>"
        f"{detail}</div>"
    )
