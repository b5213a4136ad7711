"""Load a spec's text without executing anything: sandboxed Jinja, then safe YAML, then request values as data.

Lumen renders the whole file with an unsandboxed ``jinja2.Environment`` whose globals include ``shell()``, then
parses the result with PyYAML's unsafe ``yaml.Loader`` (LUMEN-NOTES §5: S1, S2, S3, S16). Here:

* Jinja runs in a ``SandboxedEnvironment`` (no ``__globals__``/``__class__`` escapes) with ``DebugUndefined``, so
  unknown ``{{ NAME }}`` stays literal as in Lumen (intake's ``{{ CATALOG_DIR }}`` relies on it);
* ``shell()`` raises; ``env()`` reads only the variables the operator's policy lists;
* ``header()``, ``cookie()``, ``oauth()`` and ``env()`` do not paste their values into the YAML text. Each call
  renders an opaque token; after ``yaml.safe_load`` the tokens inside strings are replaced by the values. A cookie
  holding ``!!python/object/apply:os.system [...]`` or ``]\\nnew_key: x`` is therefore just a string, wherever the
  token sat. A token that the YAML turned into something other than text (a key, a number) keeps its value as text.
* The YAML is parsed with ``yaml.SafeLoader``: ``!!python/...`` tags are an error, never constructed.
* An ``env()`` value of a ``secure: true`` env variable's key is never substituted where the page shows it
  (:mod:`lumen_ext.security.secret_display`): the token there becomes the mask instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["RequestValues", "SpecLoadRefused", "load_spec_text", "render_spec_text"]


class SpecLoadRefused(ValueError):
    """The spec asked for something the policy refuses while loading (``shell()``, an unlisted ``env()``...)."""


@dataclass
class RequestValues:
    """Request-derived values a spec's Jinja may ask for (the current session's headers, cookies, OAuth claims)."""

    headers: Mapping[str, Any] = field(default_factory=dict)
    cookies: Mapping[str, Any] = field(default_factory=dict)
    oauth: Mapping[str, Any] | None = None


class _Tokens:
    """Opaque stand-ins for values, swapped back after the YAML has been parsed."""

    def __init__(self) -> None:
        # Plain alphanumerics: a YAML plain scalar anywhere, and no user text can guess it.
        self.prefix = f"lxval{secrets.token_hex(8)}n"
        self.values: dict[str, str] = {}
        self.env_keys: dict[str, str] = {}  # token -> the environment key ``env()`` read it from

    def token(self, value: Any, env_key: str | None = None) -> str:
        token = f"{self.prefix}{len(self.values)}z"
        self.values[token] = "" if value is None else str(value)
        if env_key is not None:
            self.env_keys[token] = env_key
        return token

    def substitute(self, data: Any) -> Any:
        if not self.values:
            return data
        if isinstance(data, str):
            if self.prefix not in data:
                return data
            for token, value in self.values.items():
                data = data.replace(token, value)
            return data
        if isinstance(data, dict):
            return {self.substitute(k): self.substitute(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.substitute(v) for v in data]
        if isinstance(data, (int, float, bool)) or data is None:
            return data
        return data


def _name(value: Any) -> str:
    # Lumen's helpers accept an undefined bare name (`env(HOME)`) as the name itself.
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        return value._undefined_name or ""
    return str(value)


def render_spec_text(
    text: str,
    context: Mapping[str, Any] | None = None,
    *,
    allowed_env: tuple[str, ...] = (),
    request: RequestValues | None = None,
    getenv: bool = True,
    getheaders: bool = True,
    getcookies: bool = True,
    getoauth: bool = True,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, _Tokens]:
    """Render Jinja in the sandbox; returns the text (with value tokens) and the tokens to substitute."""
    if "{" not in text:
        return text, _Tokens()
    from jinja2 import DebugUndefined
    from jinja2.sandbox import SandboxedEnvironment

    tokens = _Tokens()
    environ = os.environ if environ is None else environ
    request = request or RequestValues()

    def env(name: Any) -> str:
        key = _name(name)
        if key not in allowed_env:
            raise SpecLoadRefused(
                f"the spec calls env({key!r}), but the server's policy does not list {key!r} in allowed_env"
            )
        return tokens.token(environ.get(key, ""), env_key=key)

    def shell(command: Any) -> str:
        raise SpecLoadRefused(
            f"the spec calls shell({_name(command)!r}); lumen-ext never runs shell commands"
        )

    def disabled(what: str) -> Callable[[Any], str]:
        def refuse(name: Any) -> str:
            raise SpecLoadRefused(
                f"{what}({_name(name)!r}) is not available when a spec is edited in the browser"
            )

        return refuse

    def lookup(values: Mapping[str, Any] | None) -> Callable[[Any], str]:
        return lambda name: tokens.token((values or {}).get(_name(name), ""))

    jinja = SandboxedEnvironment(undefined=DebugUndefined, autoescape=False)
    helpers = {
        "env": env if getenv else disabled("env"),
        "shell": shell,
        "header": lookup(request.headers) if getheaders else disabled("header"),
        "cookie": lookup(request.cookies) if getcookies else disabled("cookie"),
        "oauth": lookup(request.oauth) if getoauth else disabled("oauth"),
    }
    jinja.globals.update({name: _one_argument(name, helper) for name, helper in helpers.items()})
    return jinja.from_string(text).render(dict(context or {})), tokens


def _one_argument(name: str, helper: Callable[[Any], str]) -> Callable[..., str]:
    """Lumen's helpers take exactly one argument (util.py ``_j_getenv(x)``, ...): ``env("X", "default")`` is a
    TypeError there, refused here with the reason (`lumen-ext validate` reports it as `jinja-syntax`)."""

    def call(*args: Any, **kwargs: Any) -> str:
        if len(args) != 1 or kwargs:
            raise SpecLoadRefused(
                f"{name}() takes exactly one argument (the name); Lumen 1.4 fails to load this spec"
            )
        return helper(args[0])

    return call


def load_spec_text(text: str, context: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Render (see `render_spec_text`), parse with ``yaml.SafeLoader`` and put request values back as data."""
    from jinja2.exceptions import SecurityError

    try:
        rendered, tokens = render_spec_text(text, context, **options)
    except SecurityError as exc:
        raise SpecLoadRefused(f"the spec's Jinja tried to reach Python internals ({exc})") from exc
    data = yaml.load(rendered, Loader=yaml.SafeLoader)
    return tokens.substitute(_conceal_secret_env(data, tokens))


def _conceal_secret_env(data: Any, tokens: _Tokens) -> Any:
    """The tokens of ``env()`` values of secure variables' keys, masked in displayed places (still tokens here)."""
    if not tokens.env_keys:
        return data
    from lumen_ext.security.secret_display import conceal, secret_env_keys

    secret_keys = secret_env_keys(data)
    hidden = {token: secret_keys[key] for token, key in tokens.env_keys.items() if key in secret_keys}
    return conceal(data, references=False, tokens=hidden) if hidden else data
