"""The operator's security policy: what a served spec may import, read, write and switch on.

A policy belongs to whoever runs the server, never to the spec: ``lumen-ext serve --policy FILE`` reads it from a
TOML or YAML file, and the spec has no key that can widen it. Without a file the defaults below apply, and they are
safe: nothing outside Lumen, lumen-ext, registered plugins and a few Panel/HoloViews component namespaces is
imported, no file outside the spec's folder is read, no shell, no in-browser editing, no tracebacks for viewers.

Example ``policy.toml`` (every key optional; relative directories resolve against the policy file's folder)::

    allowed_imports = ["my_company.lumen_views"]   # added to the defaults unless replace_default_imports
    allowed_callbacks = ["my_company.hooks"]        # modules config.on_* callbacks may come from
    project_root = "/srv/dashboards/team-a"         # default: found from the spec's folder (see Policy)
    allowed_dirs = ["/srv/shared-data"]             # beyond the project root
    allowed_env = ["MAPBOX_TOKEN"]                  # environment variables Jinja's env() may read
    allowed_url_schemes = ["http", "https", "s3"]
    duckdb_external_access = false                  # true lifts DuckDB's file/network sandbox
    allow_local_modules = false                     # exec filters.py/sources.py/... next to the spec
    allow_editable = false                          # honour `config.editable: true`
    dev = false                                     # tracebacks for viewers; no-OAuth auth bypass
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "ALWAYS_ALLOWED_IMPORTS",
    "DEFAULT_ALLOWED_IMPORTS",
    "Policy",
    "PolicyError",
    "load_policy",
]

# Code the operator already runs by running lumen-ext: never worth a policy entry.
ALWAYS_ALLOWED_IMPORTS = ("lumen", "lumen_ext")

# Component namespaces that specs legitimately name by dotted path: widget kinds (`kind: panel.widgets.Select`,
# in the corpus), templates, the objects of `panel`/`holoviews` views and HoloViews operations. Each entry is a
# package of Parameterized components whose constructors do not touch the file system or run commands; a
# policy file may replace the list (``replace_default_imports = true``).
DEFAULT_ALLOWED_IMPORTS = (
    "panel.widgets",
    "panel.pane",
    "panel.layout",
    "panel.template",
    "holoviews.element",
    "holoviews.operation",
)

DEFAULT_URL_SCHEMES = ("http", "https")


class PolicyError(ValueError):
    """A policy file that cannot be used (unreadable, unknown key, wrong type)."""


def _paths(values: Iterable[str | Path], base: Path) -> tuple[Path, ...]:
    return tuple((base / Path(v).expanduser()).resolve() for v in values)


@dataclass(frozen=True)
class Policy:
    """What the operator allows. Frozen: a running server's policy cannot be changed by a session."""

    allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    """Module prefixes dotted ``type:`` paths, widget kinds, templates and view objects may resolve in."""

    allowed_callbacks: tuple[str, ...] = ()
    """Module prefixes ``config.on_*`` callbacks may come from (Lumen and lumen-ext are always allowed)."""

    project_root: Path | None = None
    """Where the spec's files live; ``None``: the nearest folder above the spec with a ``lumen-ext.toml``,
    ``pyproject.toml`` or ``.git`` (never ``~`` or ``/``), else the spec's own folder."""

    allowed_dirs: tuple[Path, ...] = ()
    """Directories beyond the project root that sources, DuckDB and ``cache_dir`` may use."""

    allowed_env: tuple[str, ...] = ()
    """Environment variables the spec's Jinja ``env()`` may read (``type: env`` variables are not affected)."""

    allowed_url_schemes: tuple[str, ...] = DEFAULT_URL_SCHEMES
    """URL schemes file/json sources may fetch from (``file://`` is never allowed: use a path)."""

    duckdb_external_access: bool = False
    """Leave DuckDB's ``enable_external_access`` on (extensions, network, any file)."""

    allow_local_modules: bool = False
    """Execute ``filters.py``/``sources.py``/``transforms.py``/``template.py``/``views.py`` beside the spec."""

    allow_editable: bool = False
    """Honour ``config.editable: true`` (an in-browser YAML editor every viewer can use)."""

    dev: bool = False
    """Development mode: viewers see tracebacks, and ``auth:`` passes when no OAuth provider is configured."""

    source: Path | None = field(default=None, compare=False)
    """The file this policy was read from, for messages."""

    def import_prefixes(self, plugin_modules: Iterable[str] = ()) -> tuple[str, ...]:
        return (*ALWAYS_ALLOWED_IMPORTS, *plugin_modules, *self.allowed_imports)

    def callback_prefixes(self, plugin_modules: Iterable[str] = ()) -> tuple[str, ...]:
        return (*ALWAYS_ALLOWED_IMPORTS, *plugin_modules, *self.allowed_callbacks)

    def roots(self, spec_dir: Path) -> tuple[Path, ...]:
        """The directories files may come from when serving a spec that lives in ``spec_dir``."""
        from lumen_ext.security.paths import find_project_root

        root = self.project_root.resolve() if self.project_root else find_project_root(spec_dir)
        return (root, *(d for d in self.allowed_dirs if d != root))

    def with_overrides(self, **changes: Any) -> Policy:
        return replace(self, **changes)


_TUPLE_FIELDS = {"allowed_imports", "allowed_callbacks", "allowed_env", "allowed_url_schemes"}
_PATH_LIST_FIELDS = {"allowed_dirs"}
_BOOL_FIELDS = {"duckdb_external_access", "allow_local_modules", "allow_editable", "dev"}
_FILE_KEYS = _TUPLE_FIELDS | _PATH_LIST_FIELDS | _BOOL_FIELDS | {"project_root", "replace_default_imports"}


def policy_from_mapping(data: Any, base: Path, origin: str = "policy") -> Policy:
    """Build a policy from plain data (a parsed TOML/YAML file); ``base`` anchors relative directories."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{origin}: expected a mapping of settings, got {type(data).__name__}")
    # A `[lumen_ext.security]` table (e.g. inside a larger TOML file) is accepted as well as top-level keys.
    nested = data.get("lumen_ext", {}).get("security") if isinstance(data.get("lumen_ext"), dict) else None
    if isinstance(nested, dict):
        data = nested
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        # Fail closed on typos: a misspelled `allowed_dirs` must not silently mean "nothing allowed" or worse.
        hints = [difflib.get_close_matches(k, sorted(_FILE_KEYS), n=1) for k in unknown]
        detail = ", ".join(
            f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
            for k, h in zip(unknown, hints, strict=False)
        )
        raise PolicyError(
            f"{origin}: unknown setting {detail}; valid settings: {', '.join(sorted(_FILE_KEYS))}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _BOOL_FIELDS or key == "replace_default_imports":
            if not isinstance(value, bool):
                raise PolicyError(f"{origin}: {key!r} must be true or false, got {value!r}")
            if key != "replace_default_imports":
                kwargs[key] = value
        elif key in _TUPLE_FIELDS | _PATH_LIST_FIELDS:
            if (
                isinstance(value, str)
                or not isinstance(value, list)
                or not all(isinstance(v, str) for v in value)
            ):
                raise PolicyError(f"{origin}: {key!r} must be a list of strings, got {value!r}")
            kwargs[key] = _paths(value, base) if key in _PATH_LIST_FIELDS else tuple(value)
        elif key == "project_root":
            if not isinstance(value, str):
                raise PolicyError(f"{origin}: 'project_root' must be a string path, got {value!r}")
            kwargs[key] = _paths([value], base)[0]
    if "allowed_imports" in kwargs and not data.get("replace_default_imports", False):
        kwargs["allowed_imports"] = (*DEFAULT_ALLOWED_IMPORTS, *kwargs["allowed_imports"])
    for name in ("allowed_imports", "allowed_callbacks"):
        for prefix in kwargs.get(name, ()):
            if not prefix or not all(part.isidentifier() for part in prefix.split(".")):
                raise PolicyError(f"{origin}: {name} entry {prefix!r} is not a dotted module name")
    if "file" in {s.lower() for s in kwargs.get("allowed_url_schemes", ())}:
        raise PolicyError(f"{origin}: 'file' URLs cannot be allowed; list the directory in allowed_dirs")
    return Policy(**kwargs)


def load_policy(path: str | Path | None) -> Policy:
    """The policy in ``path`` (``.toml``, ``.yaml`` or ``.yml``), or the safe defaults when ``path`` is None."""
    if path is None:
        return Policy()
    path = Path(path)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise PolicyError(f"{path}: a policy file must end in .toml, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror}") from exc
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{path}: {exc}") from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: {exc}") from exc
    policy = policy_from_mapping(data, path.resolve().parent, origin=str(path))
    return replace(policy, source=path.resolve())
