"""The login of each mounted dashboard's sessions, for Lumen's ``auth:`` check inside the session.

Lumen decides whether a page shows its layouts from ``pn.state.user_info`` (``AuthSpec.authorized``,
dashboard.py:463-484), which Panel reads from its own OAuth cookies. A FastAPI application logs users in its own
way, so the page route remembers the claims its auth dependency returned under the Bokeh session id it creates
(:func:`remember`), and the ``fastapi.user-info`` hook makes ``user_info`` answer them for that session. Sessions
Panel's OAuth built (none under FastAPI, unless the host adds it) keep Panel's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["claims_for", "forget", "remember", "user_info_from_mount"]

_lock = threading.Lock()
_claims: dict[str, dict[str, Any]] = {}  # Bokeh session id -> the claims its page request was admitted with


def remember(session_id: str, claims: Mapping[str, Any] | None) -> None:
    if claims is None:
        return
    with _lock:
        _claims[session_id] = dict(claims)


def forget(session_id: str) -> None:
    with _lock:
        _claims.pop(session_id, None)


def claims_for(session_id: str | None) -> dict[str, Any] | None:
    if session_id is None:
        return None
    with _lock:
        return _claims.get(session_id)


def _current_session_id() -> str | None:
    from panel.io.state import state

    doc = state.curdoc
    context = getattr(doc, "session_context", None) if doc is not None else None
    return getattr(context, "id", None)


def user_info_from_mount(original: property, settings: Any) -> property:
    """``_state.user_info`` that gives a mounted session the claims its FastAPI login returned."""

    def user_info(self) -> dict[str, Any] | None:
        claims = claims_for(_current_session_id())
        return claims if claims is not None else original.fget(self)

    return property(user_info, doc=original.__doc__)
