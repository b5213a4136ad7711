"""One row of the hooks table, and how its target string names an upstream attribute."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Hook", "Kind", "resolve_callable", "resolve_owner"]

Kind = Literal["replace", "register", "scoped"]


@dataclass(frozen=True)
class Hook:
    """A change lumen-ext makes to Lumen, Panel, Bokeh or HoloViews at run time.

    ``kind`` says how:

    * ``replace``: ``target`` is replaced by ``use(original, settings)`` while the hook is enabled. Several hooks
      on one target are composed in table order, each receiving the callable the previous one returned.
    * ``register``: a public extension point (``pn.state.on_session_destroyed``, a param watcher) is called by
      ``use(settings)``; ``undo()`` reverses it where the upstream API allows. ``target`` names the API used.
    * ``scoped``: ``target`` is shadowed on one instance for the length of a ``with`` block
      (:func:`lumen_ext.hooks.shadow`), e.g. while one HoloViews update is recorded.
    """

    name: str
    """Dotted; its first parts are the group (``views.patching``) that ``hooks.enable`` accepts."""
    target: str
    """``package.module:Qualified.attribute`` (or ``package.module:attribute`` for a module's global)."""
    use: str
    """``lumen_ext.module:function``: the replacement's factory, or the registration (imported when enabled)."""
    why: str
    """One line: what goes wrong, or is slow, without the hook."""
    upstream: str
    """The distribution the target belongs to and the versions the hook is tested with (a PEP 508 requirement,
    e.g. ``lumen>=1.4.0,<1.5``). Outside the range the hook is skipped and the upstream behaviour stays."""
    written_against: str
    """The upstream version whose code ``fingerprint`` was taken from, e.g. ``lumen 1.4.0``."""
    fingerprint: str
    """Hash of the upstream source the hook relies on (:mod:`lumen_ext.hooks.drift`); a test fails when it changes."""
    profiles: frozenset[str]
    """Which installations enable it: ``serve`` (``lumen-ext serve``), ``lumen-serve`` (``lumen serve`` with
    lumen-ext installed), ``fastapi`` (dashboards mounted in a FastAPI application), ``precache``, ``explain``."""
    kind: Kind = "replace"
    requires: tuple[str, ...] = ()
    """Hooks that must be enabled for this one to be correct: enabling it enables them, skipping one skips it."""
    needs: tuple[str, ...] = ()
    """``Settings`` fields that must be set for the hook to apply (e.g. ``cache``); otherwise it is left out."""
    rebind: bool = False
    """The target is a module-level function that other modules of the same package imported by name
    (``from .util import load_yaml``): those bindings are replaced too."""
    deferred: bool = False
    """Not enabled by a profile's installation; enabled on first need by the hook that requires it."""
    undo: str | None = None
    """``register`` hooks: ``module:function`` reversing ``use``; None when the upstream API offers no removal."""
    fingerprint_of: str | None = None
    """The upstream code the hook depends on when it is not ``target`` itself (a replaced module global)."""
    optional: bool = field(default=False)
    """The target's module may be absent (an optional dependency): the hook is then left out quietly."""

    @property
    def group(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def in_group(self, prefix: str) -> bool:
        return self.name == prefix or self.name.startswith(prefix + ".")

    @property
    def distribution(self) -> str:
        from packaging.requirements import Requirement

        return Requirement(self.upstream).name

    def split_target(self) -> tuple[str, list[str]]:
        """(module, [attribute path]) of ``target``."""
        module, _, path = self.target.partition(":")
        return module, path.split(".")


def resolve_owner(target: str) -> tuple[Any, str]:
    """(the object holding the attribute, the attribute's name) for ``module:Owner.attr``; imports the module."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *owners, attr = path.split(".")
    for part in owners:
        owner = getattr(owner, part)
    return owner, attr


def resolve_callable(reference: str) -> Any:
    """The object ``module:name`` refers to."""
    owner, attr = resolve_owner(reference)
    return getattr(owner, attr)
