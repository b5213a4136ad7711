"""Enabling and disabling the hooks of the table: the one mechanism that changes upstream attributes.

Every replaced attribute has a *slot*: the attribute's own value before any hook (or the fact that the owner
inherited it) and, for ``rebind`` targets, every module that had imported the same function. Whenever the set of
enabled hooks on a target changes, the slot recomposes it from that original, in table order, so the order of
``enable`` calls never decides the order of stacked wrappers, and disabling the last hook puts the original back.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from lumen_ext.hooks.hook import Hook, resolve_callable, resolve_owner
from lumen_ext.hooks.settings import Settings

__all__ = [
    "Decision",
    "decide",
    "disable",
    "enable",
    "enabled",
    "install",
    "is_enabled",
    "original",
    "settings_of",
    "shadow",
    "uninstall",
]

log = logging.getLogger("lumen_ext.hooks")

_MISSING = object()
_lock = threading.RLock()
_enabled: dict[str, Settings] = {}  # hook name -> the settings it was enabled with
_registered: set[str] = set()  # register hooks without an undo that ran: they stay registered for the process
_slots: dict[str, _Slot] = {}  # target -> what was there before the first hook on it
_last_settings = Settings()


@dataclass
class _Slot:
    owner: Any
    attr: str
    own: Any  # the owner's own value, or _MISSING when it inherited the attribute
    value: Any  # what the attribute resolved to (the inherited value when ``own`` is missing)
    rebound: list[Any] = field(default_factory=list)  # other modules that imported the same function

    def set(self, value: Any) -> None:
        setattr(self.owner, self.attr, value)
        for module in self.rebound:
            setattr(module, self.attr, value)

    def restore(self) -> None:
        if self.own is _MISSING:
            with contextlib.suppress(AttributeError):
                delattr(self.owner, self.attr)
        else:
            setattr(self.owner, self.attr, self.own)
        for module in self.rebound:
            setattr(module, self.attr, self.value)


def _table() -> tuple[Hook, ...]:
    from lumen_ext.hooks.table import HOOKS

    return HOOKS


def _by_name() -> dict[str, Hook]:
    return {hook.name: hook for hook in _table()}


def _package_modules(module_name: str) -> list[Any]:
    top = module_name.split(".")[0]
    return [m for name, m in list(sys.modules.items()) if name == top or name.startswith(top + ".")]


def _slot(hook: Hook) -> _Slot:
    slot = _slots.get(hook.target)
    if slot is None:
        owner, attr = resolve_owner(hook.target)
        own = vars(owner).get(attr, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        value = own if own is not _MISSING else getattr(owner, attr)
        rebound = []
        if hook.rebind:
            module_name = hook.target.partition(":")[0]
            rebound = [
                m for m in _package_modules(module_name) if m is not owner and vars(m).get(attr) is value
            ]
        slot = _slots[hook.target] = _Slot(owner, attr, own, value, rebound)
    return slot


def original(target: str) -> Any:
    """The upstream value of ``target`` before any hook, whether or not hooks replace it now."""
    with _lock:
        slot = _slots.get(target)
        if slot is not None:
            return slot.value
    owner, attr = resolve_owner(target)
    return getattr(owner, attr)


def _recompose(target: str) -> None:
    chain = [h for h in _table() if h.target == target and h.kind == "replace" and h.name in _enabled]
    slot = _slot(chain[0]) if chain else _slots.get(target)
    if slot is None:
        return
    if not chain:
        slot.restore()
        del _slots[target]
        return
    value = slot.value
    for hook in chain:
        value = resolve_callable(hook.use)(value, _enabled[hook.name])
    slot.set(value)


# -- deciding what to enable --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    hook: Hook
    state: str  # "enable", "skipped", "off" (--without), "absent" (an optional module missing) or "not applicable"
    reason: str = ""


def _version_problem(hook: Hook) -> str | None:
    from packaging.requirements import Requirement

    requirement = Requirement(hook.upstream)
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return f"{requirement.name} is not installed"
    if not requirement.specifier.contains(installed, prereleases=True):
        return f"{requirement.name} {installed} is outside the tested range {requirement.specifier}"
    return None


def _module_missing(hook: Hook) -> bool:
    import importlib.util

    module = hook.target.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


def decide(hooks: Iterable[Hook], settings: Settings) -> list[Decision]:
    """What would happen to each of ``hooks`` (in table order), and why, without changing anything."""
    chosen = {hook.name for hook in hooks}
    by_name = _by_name()
    decisions: dict[str, Decision] = {}
    for hook in _table():
        if hook.name not in chosen:
            continue
        if any(hook.in_group(name) for name in settings.without):
            decisions[hook.name] = Decision(hook, "off", "left out by the operator (--without)")
        elif missing := [need for need in hook.needs if not getattr(settings, need)]:
            decisions[hook.name] = Decision(hook, "not applicable", f"no {', '.join(missing)} configured")
        elif hook.optional and _module_missing(hook):
            decisions[hook.name] = Decision(
                hook, "absent", f"{hook.target.partition(':')[0]} is not installed"
            )
        elif problem := _version_problem(hook):
            decisions[hook.name] = Decision(hook, "skipped", problem)
        else:
            decisions[hook.name] = Decision(hook, "enable")
    # Never half a chain: a hook whose requirement is not enabled is skipped too (requirements come first in the
    # table, so one pass in table order settles chains).
    for hook in _table():
        decision = decisions.get(hook.name)
        if decision is None or decision.state != "enable":
            continue
        for need in hook.requires:
            needed = decisions.get(need)
            if needed is None and need not in by_name:
                raise KeyError(f"hook {hook.name} requires unknown hook {need}")
            if needed is None or needed.state != "enable":
                why = needed.reason if needed is not None else "not selected"
                decisions[hook.name] = Decision(hook, "skipped", f"requires {need} ({why})")
                break
    return [decisions[hook.name] for hook in _table() if hook.name in decisions]


def _select(names: Iterable[str]) -> list[Hook]:
    """The hooks named, or in the groups named, with every hook they require (transitively)."""
    prefixes = list(names)
    table = _table()
    by_name = _by_name()
    chosen = {hook.name for hook in table if any(hook.in_group(prefix) for prefix in prefixes)}
    if unknown := [p for p in prefixes if not any(h.in_group(p) for h in table)]:
        raise KeyError(f"no hook or group named {', '.join(unknown)}")
    pending = list(chosen)
    while pending:
        for need in by_name[pending.pop()].requires:
            if need not in chosen:
                chosen.add(need)
                pending.append(need)
    return [hook for hook in table if hook.name in chosen]


# -- enabling -------------------------------------------------------------------------------------------------


def _apply(decisions: list[Decision], settings: Settings, *, quiet: bool) -> list[Decision]:
    global _last_settings
    with _lock:
        _last_settings = settings
        touched: list[str] = []
        for decision in decisions:
            hook = decision.hook
            if decision.state != "enable":
                if decision.state == "skipped" and not quiet:
                    log.warning(
                        "lumen-ext hook %s skipped: %s; %s keeps its own behaviour",
                        hook.name,
                        decision.reason,
                        hook.target,
                    )
                continue
            if hook.deferred and hook.name not in _enabled and not quiet:
                continue  # enabled later, by the hook that needs it (see enable_deferred)
            previous = _enabled.get(hook.name)
            _enabled[hook.name] = settings
            if hook.kind == "register":
                if hook.undo is None:
                    # No way to remove it (Panel keeps session callbacks for good): register once per process.
                    if hook.name not in _registered:
                        resolve_callable(hook.use)(settings)
                        _registered.add(hook.name)
                elif previous != settings:  # new settings reconfigure (e.g. another cache configuration)
                    resolve_callable(hook.use)(settings)
            elif hook.kind == "replace" and previous != settings and hook.target not in touched:
                touched.append(hook.target)
        for target in touched:
            _recompose(target)
    return decisions


def install(profile: str, settings: Settings) -> list[Decision]:
    """Enable every hook of ``profile`` that applies to ``settings``, in table order; log each one skipped."""
    hooks = [hook for hook in _table() if profile in hook.profiles]
    decisions = _apply(decide(hooks, settings), settings, quiet=False)
    enabled_count = sum(1 for d in decisions if d.hook.name in _enabled)
    log.info("lumen-ext runtime: %d hooks enabled for %s", enabled_count, profile)
    return decisions


def enable(*names: str, settings: Settings | None = None) -> list[Decision]:
    """Enable the named hooks or groups (and what they require), deferred ones included; skipped ones are logged.

    ``settings``: default the settings of the last installation (or ``Settings()``).
    """
    settings = settings if settings is not None else _last_settings
    decisions = decide(_select(names), settings)
    return _apply(decisions, settings, quiet=True)


def enable_deferred(name: str) -> bool:
    """Enable a deferred hook with the settings of the installation that made it possible; whether it is enabled."""
    with _lock:
        if name in _enabled:
            return True
        hook = _by_name()[name]
        decisions = decide(_select([name]), _last_settings)
        _apply(decisions, _last_settings, quiet=True)
        if hook.name not in _enabled:
            log.warning("lumen-ext hook %s not enabled: %s", name, decisions[-1].reason)
        return hook.name in _enabled


def disable(*names: str) -> None:
    """Disable the named hooks or groups, and every enabled hook that requires one of them."""
    with _lock:
        off = {hook.name for hook in _table() if any(hook.in_group(n) for n in names)}
        grew = True
        while grew:
            grew = False
            for hook in _table():
                if hook.name in _enabled and hook.name not in off and off.intersection(hook.requires):
                    off.add(hook.name)
                    grew = True
        targets = []
        for hook in reversed(_table()):
            if hook.name not in off or hook.name not in _enabled:
                continue
            del _enabled[hook.name]
            if hook.kind == "register" and hook.undo is not None:
                resolve_callable(hook.undo)()
            elif hook.kind == "replace":
                targets.append(hook.target)
        for target in dict.fromkeys(targets):
            _recompose(target)


def uninstall() -> None:
    """Disable every hook: upstream behaviour everywhere (register hooks without an undo stay registered)."""
    disable(*{hook.name for hook in _table() if hook.name in _enabled})


def is_enabled(name: str) -> bool:
    return name in _enabled


def enabled() -> list[str]:
    return [hook.name for hook in _table() if hook.name in _enabled]


def settings_of(name: str) -> Settings | None:
    return _enabled.get(name)


@contextlib.contextmanager
def shadow(name: str, instance: Any, value: Any) -> Iterator[Any]:
    """Shadow the ``scoped`` hook ``name``'s attribute on ``instance`` with ``value`` inside the block.

    Yields what ``instance.attr`` was (the bound method, or an enclosing shadow), so ``value`` can call it; the
    instance's own attribute is restored afterwards, or removed when it had none.
    """
    hook = _by_name()[name]
    if hook.kind != "scoped":
        raise ValueError(f"hook {name} is not a scoped hook")
    attr = hook.target.rpartition(".")[2]
    own = vars(instance).get(attr, _MISSING)
    previous = getattr(instance, attr)
    setattr(instance, attr, value)
    try:
        yield previous
    finally:
        if own is _MISSING:
            with contextlib.suppress(AttributeError):
                delattr(instance, attr)
        else:
            setattr(instance, attr, own)
