"""The page a viewer sees instead of a blank document when a spec cannot be served."""

from __future__ import annotations

import html

PAGE_CSS = """
.lx-error { font-family: Roboto, system-ui, sans-serif; max-width: 960px; margin: 2rem auto; color: #1f2328; }
.lx-error h1 { font-size: 1.5rem; color: #b42318; margin-bottom: .25rem; }
.lx-error p.lx-sub { color: #57606a; margin-top: 0; }
.lx-error pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 1rem; overflow-x: auto; }
"""


def error_page_html(title: str, summary: str, body_html: str) -> str:
    """Wrap an already-escaped HTML fragment in the error-page frame."""
    return (
        f"<style>{PAGE_CSS}</style><div class='lx-error'><h1>{html.escape(title)}</h1>"
        f"<p class='lx-sub'>{html.escape(summary)}</p>{body_html}</div>"
    )
