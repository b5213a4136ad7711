"""``harden(policy)``: close Lumen 1.4's code-execution, file and SQL paths in the running server process.

Each guard (in :mod:`lumen_ext.security.guards`, one module per kind of vector) is the replacement of one Lumen function or
method (site-packages is never edited) and cites the vector it closes (LUMEN-NOTES §5). The hooks table
(:mod:`lumen_ext.hooks.table`, group ``security``) installs them before any dashboard is built; ``harden(policy)``
enables that group on its own and ``restore()`` disables it (tests use them).

==========  ====================================================================================================
vector      guard
==========  ====================================================================================================
S1 S2 S3    ``load_yaml``/``expand_spec``: sandboxed Jinja, no ``shell()``, ``yaml.SafeLoader`` (also for the
S16 S12     per-session reload/edit path and the auth YAML plugin); request values inserted as data
S4          ``env()`` only for ``allowed_env``; ``Variable.to_spec`` drops the value of ``secure: true`` variables
S7 S8       ``resolve_module_reference`` allow-list, nested objects must be Parameterized classes; callbacks
            from ``allowed_callbacks`` only
S9          ``load_local_modules`` refuses ``views.py``/... unless ``allow_local_modules``
S5 S13      file/json source paths (after template expansion) inside the project root or ``allowed_dirs``,
            URLs only with ``allowed_url_schemes``
S6          DuckDB connections: ``allowed_directories`` = the roots, ``enable_external_access = false``
S14         ``cache_dir`` must be a subfolder of the roots; ``clear_cache`` never deletes a root or its parents
S10         ``query``/``eval`` transforms run only data expressions (`lumen_ext.security.expressions`)
S11         ``sql_format`` string parameters become quoted identifiers; boolean filters work on SQL sources
S12         ``config.editable: true`` refused unless ``allow_editable``
S15         ``auth:`` denies on a missing claim and when no OAuth provider is configured (unless ``dev``)
faults      ``show_traceback`` off unless ``dev``; failures show a card with an error id that the log repeats;
            each view of a pipeline that fails to load or to compute (data file deleted or corrupted at run
            time) becomes a card with the root cause's id (``guards/pipeline_faults.py``); a layout that
            fails to build, or a view that raises, becomes a card
==========  ====================================================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from lumen_ext.security.policy import Policy

__all__ = [
    "PolicyViolation",
    "activate_policy",
    "current_policy",
    "deactivate_policy",
    "harden",
    "is_hardened",
    "policy_of",
    "restore",
]

log = logging.getLogger("lumen_ext.security")

_active: Policy | None = None

# Lumen modules whose names the guards rebind; imported up front so that every module importing a guarded function
# by name is loaded when the hooks replace it there, and a later lazy import cannot keep an original.
_LUMEN_MODULES = (
    "lumen.util",
    "lumen.config",
    "lumen.base",
    "lumen.state",
    "lumen.auth",
    "lumen.pipeline",
    "lumen.layout",
    "lumen.dashboard",
    "lumen.schema",
    "lumen.sources.base",
    "lumen.sources.duckdb",
    "lumen.transforms.base",
    "lumen.transforms.sql",
    "lumen.filters.base",
    "lumen.variables.base",
    "lumen.views.base",
)


class PolicyViolation(ValueError):
    """The spec asked for something the server's policy refuses. Lumen's callers treat it as a load error."""


def current_policy() -> Policy | None:
    return _active


def is_hardened() -> bool:
    return _active is not None


def activate_policy(settings: Any) -> None:
    """The first security hook: record the policy in force and load the Lumen modules the guards rebind in."""
    global _active
    import importlib

    for name in _LUMEN_MODULES:
        importlib.import_module(name)
    _active = policy_of(settings)
    log.info("lumen-ext security policy active%s", f" (from {_active.source})" if _active.source else "")


def deactivate_policy() -> None:
    global _active
    _active = None


def harden(policy: Policy | None = None) -> Policy:
    """Enable every guard of the hooks table for ``policy`` (default: `Policy()`); re-hardening swaps policies."""
    from lumen_ext import hooks

    policy = policy or Policy()
    hooks.enable("security", settings=hooks.Settings(policy=policy))
    return policy


def restore() -> None:
    """Disable every guard, restoring Lumen's own functions."""
    from lumen_ext import hooks

    hooks.disable("security")


def policy_of(settings: Any) -> Policy:
    return settings.policy or Policy()
