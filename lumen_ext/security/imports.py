"""Which dotted paths a spec may make Lumen import: the one allow-list the linter and the runtime guard share.

Lumen resolves ``type: a.b.C``, widget ``kind:``, templates, config callbacks and the nested ``type:`` objects of
``panel``/``holoviews`` views with ``importlib.import_module`` and no restriction, and instantiates or calls the
result (LUMEN-NOTES §5, S7/S8). Here a path is allowed when its module lies under Lumen, lumen-ext, a component
plugin registered under the ``lumen_ext.components`` entry-point group, or a prefix the operator's policy lists.
"""

from __future__ import annotations

from functools import cache

from lumen_ext.security.policy import Policy

__all__ = ["LOCAL_MODULES", "is_dotted_path", "module_allowed", "plugin_modules", "reference_problem"]

# Files beside a spec that Lumen imports (and so executes) for every session (LUMEN-NOTES §5, S9).
LOCAL_MODULES = ("filters.py", "sources.py", "transforms.py", "template.py", "views.py")


def is_dotted_path(value: object) -> bool:
    """``a.b`` or longer, every part an identifier: what Lumen would hand to ``import_module``."""
    if not isinstance(value, str) or "." not in value:
        return False
    return all(part.isidentifier() for part in value.split("."))


@cache
def plugin_modules() -> tuple[str, ...]:
    """Modules that registered plugin components live in (their classes may be named by dotted path)."""
    try:
        from lumen_ext.spec.catalog import catalog

        cat = catalog()
    except Exception:  # a broken catalog must not open the allow-list, only keep plugins out of it
        return ()
    modules: set[str] = set()
    for key in cat.plugins:
        family, _, name = key.partition(":")
        cls = cat.families.get(family, {}).get(name, {}).get("class", "")
        if is_dotted_path(cls):
            modules.add(cls.rsplit(".", 1)[0])
    return tuple(sorted(modules))


def module_allowed(reference: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``reference`` (``pkg.mod.Name``) lies in one of the module ``prefixes`` (whole components only)."""
    return any(reference == p or reference.startswith(p + ".") for p in prefixes)


def reference_problem(reference: str, policy: Policy, *, callback: bool = False) -> str | None:
    """Why ``reference`` may not be imported under ``policy``, or None when it may."""
    prefixes = (
        policy.callback_prefixes(plugin_modules()) if callback else policy.import_prefixes(plugin_modules())
    )
    if module_allowed(reference, prefixes):
        return None
    what = "callback" if callback else "component"
    setting = "allowed_callbacks" if callback else "allowed_imports"
    return (
        f"{what} {reference!r} is outside the modules this server allows ({', '.join(prefixes)}); "
        f"the operator can add its module to `{setting}` in the policy file"
    )
