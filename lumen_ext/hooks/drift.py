"""Fingerprints of the upstream code each hook relies on, so a test fails when an upgrade changes it.

A fingerprint hashes the source text of the target (a function, a method, a property's accessors) or, for data
(a class attribute holding a dict, a number), its ``repr``; for a guard that runs in the browser
(``bokehjs:Class.method,Class.other``), the methods' text in the installed ``bokeh.js``. For ``rebind`` targets
it also covers which modules import the function by name: a new import site would escape the hook. The review of a changed fingerprint is the
upgrade procedure (``docs/hooks.md``).
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

from lumen_ext.hooks.hook import Hook, resolve_owner

__all__ = ["BOKEHJS", "bokehjs_method", "fingerprint", "upstream_text"]

BOKEHJS = "bokehjs:"


def _code_of(value: Any) -> Any:
    if isinstance(value, classmethod | staticmethod):
        return value.__func__
    if isinstance(value, property):
        return [accessor for accessor in (value.fget, value.fset, value.fdel) if accessor is not None]
    return value


def _text(value: Any) -> str:
    code = _code_of(value)
    if isinstance(code, list):
        return "\n".join(_text(accessor) for accessor in code)
    if inspect.isfunction(code) or inspect.isclass(code) or inspect.ismethod(code):
        return inspect.getsource(code)
    if inspect.ismodule(code):
        return f"module {code.__name__}"
    return _describe(code)


def _describe(value: Any) -> str:
    """A stable text for data: reprs of functions and objects carry ids or counters; their names do not."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_describe(k)}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    if isinstance(value, str | int | float | bool | type(None)):
        return repr(value)
    if inspect.isclass(value) or inspect.isfunction(value):
        return f"{value.__module__}.{value.__qualname__}"
    return f"instance of {type(value).__module__}.{type(value).__qualname__}"


def upstream_text(hook: Hook) -> str:
    """The upstream text ``hook`` was written against, as the running interpreter has it."""
    from lumen_ext.hooks import registry

    reference = hook.fingerprint_of or hook.target
    if reference.startswith(BOKEHJS):
        return "\n".join(bokehjs_method(name) for name in reference.removeprefix(BOKEHJS).split(","))
    if reference == hook.target and hook.kind == "replace":
        value = registry.original(hook.target)  # the upstream value even while hooks replace it
    else:
        owner, attr = resolve_owner(reference)
        value = inspect.getattr_static(owner, attr)
    text = "\n".join(line.rstrip() for line in _text(value).splitlines())
    if hook.rebind:
        text += "\n# imported by name in: " + ", ".join(_binding_modules(hook))
    return text


def bokehjs_method(qualified: str) -> str:
    """The text of ``Class.method`` in the installed (unminified) ``bokeh.js``: from the method's first line to
    the brace that closes it, found by counting braces (the braces in its template strings pair up)."""
    import re
    from pathlib import Path

    import bokeh

    class_name, method = qualified.split(".")
    source = (Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.js").read_text("utf-8")
    start = source.index(f"class {class_name} extends ")
    head = re.compile(rf"^\s+{re.escape(method)}\(\) {{$", re.MULTILINE).search(source, start)
    if head is None:
        raise LookupError(f"bokeh.js has no method {qualified}")
    depth, end = 0, head.start()
    for end in range(head.end() - 1, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            break
    return source[head.start() : end + 1]


def _binding_modules(hook: Hook) -> list[str]:
    """Files of the target's package that import the function by name (read as text: nothing is imported)."""
    import importlib.util
    import re
    from pathlib import Path

    module_name, _, path = hook.target.partition(":")
    spec = importlib.util.find_spec(module_name.split(".")[0])
    root = Path(next(iter(spec.submodule_search_locations)))
    name = re.escape(path.rpartition(".")[2])
    pattern = re.compile(rf"^\s*from\s+\S+\s+import\s+[^#\n]*\b{name}\b", re.MULTILINE)
    return sorted(
        str(file.relative_to(root.parent))
        for file in root.rglob("*.py")
        if pattern.search(file.read_text("utf-8"))
    )


def fingerprint(hook: Hook) -> str:
    return hashlib.sha256(upstream_text(hook).encode()).hexdigest()[:12]
