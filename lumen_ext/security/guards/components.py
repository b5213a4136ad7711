"""S7 S8 S9: what a spec may make Lumen import, instantiate or call: dotted ``type:`` paths and nested objects from
allowed modules only (and only Parameterized classes), ``config.on_*`` callbacks from ``allowed_callbacks``, and no
``views.py``/``sources.py``/... beside the spec unless ``allow_local_modules``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from lumen_ext.security.imports import LOCAL_MODULES, reference_problem
from lumen_ext.security.runtime import PolicyViolation, policy_of

__all__ = ["allowed_callback", "allowed_module_reference", "guarded_local_modules"]


def allowed_module_reference(original: Callable, settings: Any) -> Callable:
    """``lumen.util.resolve_module_reference``: only allowed modules, and nested objects must be components."""
    import param

    policy = policy_of(settings)

    def resolve_module_reference(reference: str, component_type: type | None = None) -> Any:
        if problem := reference_problem(reference, policy):
            raise PolicyViolation(problem)
        component = original(reference, component_type)
        # Without an expected base class Lumen instantiates (or calls) whatever it found with the spec's
        # arguments (nested view objects, base.py:333; views/base.py:439, 580): only components qualify.
        if component_type is None and not (
            isinstance(component, type) and issubclass(component, param.Parameterized)
        ):
            raise PolicyViolation(
                f"{reference!r} is not a Parameterized component class, so a spec may not create it"
            )
        return component

    return resolve_module_reference


def allowed_callback(original: Any, settings: Any) -> Any:
    """``Config._validate_callback``: ``config.on_*`` callbacks only from ``allowed_callbacks``."""
    from lumen_ext import hooks

    policy = policy_of(settings)
    resolve = hooks.original("lumen.util:resolve_module_reference")  # a callback is no component: unguarded

    def _validate_callback(cls: type, callback: Any) -> Any:
        if isinstance(callback, str):
            if problem := reference_problem(callback, policy, callback=True):
                raise PolicyViolation(problem)
            return resolve(callback)
        return callback

    return classmethod(_validate_callback)


def guarded_local_modules(original: Callable, settings: Any) -> Callable:
    """``config.load_local_modules``: ``views.py`` and friends beside the spec only with ``allow_local_modules``."""
    policy = policy_of(settings)

    def load_local_modules(self: Any) -> None:
        if not policy.allow_local_modules:
            found = [name for name in LOCAL_MODULES if os.path.isfile(os.path.join(self.root, name))]
            if found:
                raise PolicyViolation(
                    f"{', '.join(found)} beside the spec would be executed; the server's policy does not allow "
                    "local modules (allow_local_modules)"
                )
        return original(self)

    return load_local_modules
