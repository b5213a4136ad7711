"""S4 S12 S15: secrets, editing and auth. ``secure: true`` values never exported nor shown, ``config.editable`` only
with ``allow_editable`` (tracebacks in the page only with ``dev``), and ``auth:`` failing closed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from lumen_ext.security.runtime import PolicyViolation, policy_of

log = logging.getLogger("lumen_ext.security")

__all__ = [
    "admits",
    "failing_closed_auth",
    "guarded_config_from_spec",
    "hide_secure_values",
    "masked_secure_references",
]


def hide_secure_values(original: Callable, settings: Any) -> Callable:
    """``Variable.to_spec``: the value of a ``secure: true`` variable is never exported."""

    def to_spec(self: Any, context: Any = None) -> dict:
        spec = original(self, context=context)
        if self.secure:
            for key in ("value", "default"):
                spec.pop(key, None)
        return spec

    return to_spec


def masked_secure_references(original: Any, settings: Any) -> Any:
    """``Dashboard.validate``: a ``$variables.NAME`` of a secure variable in a displayed place becomes the mask.

    Every spec Lumen builds passes here, read from a file (each session, and after an edit) or given as a dict,
    and so does the one ``/data`` computes from. Lumen resolves references in a dozen places afterwards (views,
    filters, panel object specs, variable aliases, each re-evaluated when a variable changes); a displayed
    reference is therefore replaced before any of them sees it, and the sources, which do not display, keep theirs.
    Which places are displayed is `lumen_ext.security.secret_display`'s, which ``lumen-ext validate`` reports
    with the same walk (rule ``secret-displayed``). Each masked place is logged once per process.
    """
    from lumen_ext.security.secret_display import conceal

    validate = original.__func__

    def validated(cls: type, spec: Any, context: Any = None) -> Any:
        if isinstance(spec, dict) and context is None:
            spec = conceal(spec)
        return validate(cls, spec, context)

    return classmethod(validated)


def guarded_config_from_spec(original: Any, settings: Any) -> Any:
    """``Config.from_spec``: ``editable`` only with ``allow_editable``; tracebacks in the page only with ``dev``."""
    policy = policy_of(settings)
    config_from_spec = original.__func__

    def from_spec(cls: type, spec: Any) -> Any:
        if isinstance(spec, dict):
            if spec.get("editable") and not policy.allow_editable:
                raise PolicyViolation(
                    "config.editable would let every viewer edit and reload the spec; the server's policy does "
                    "not allow it (allow_editable)"
                )
            spec = dict(spec, show_traceback=policy.dev)
        return config_from_spec(cls, spec)

    return classmethod(from_spec)


def admits(spec: Mapping[str, Any], case_sensitive: bool, user: Mapping[str, Any] | None, dev: bool) -> bool:
    """Whether claims ``user`` (None: no login) satisfy an ``auth:`` block's ``spec``: every key must be a claim
    holding one of the wanted values; no login passes only in ``dev``. Also the FastAPI door's check
    (:mod:`lumen_ext.fastapi.guard`), before the page is served."""
    if not spec:
        return True
    if user is None:
        # No OAuth provider: nobody can be checked. Lumen lets everyone in under --dev/--autoreload.
        return dev
    for key, wanted in spec.items():
        if key not in user:
            log.warning("auth: claim %r is missing from the user's OAuth data; access denied", key)
            return False
        wanted = wanted if isinstance(wanted, list) else [wanted]
        got = user[key] if isinstance(user[key], list) else [user[key]]
        if not case_sensitive:
            wanted = [w.lower() if isinstance(w, str) else w for w in wanted]
            got = [g.lower() if isinstance(g, str) else g for g in got]
        wanted = [w.strip() if isinstance(w, str) else w for w in wanted]
        if not any(g == w for w in wanted for g in got):
            return False
    return True


def failing_closed_auth(original: Any, settings: Any) -> Any:
    """``AuthSpec.authorized``: a missing claim, or no OAuth provider at all, denies (unless ``dev``)."""
    policy = policy_of(settings)

    def authorized(self: Any) -> bool:
        import panel as pn

        if not self.spec:
            return True
        return admits(self.spec, self.case_sensitive, pn.state.user_info, policy.dev)

    return property(authorized)
