"""S1 S2 S3 S4 S12 S16: how Lumen loads a spec. Sandboxed Jinja without ``shell()``, ``yaml.SafeLoader`` (also for the
auth YAML plugin), request values (headers, cookies, OAuth claims) inserted as data, ``env()`` only for the policy's
``allowed_env``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from lumen_ext.security.runtime import PolicyViolation, policy_of
from lumen_ext.security.templating import RequestValues, SpecLoadRefused, load_spec_text, render_spec_text

__all__ = ["safe_expand_spec", "safe_load_yaml", "safe_yaml_module"]


def _request_values() -> RequestValues:
    import panel as pn

    return RequestValues(
        headers=dict(pn.state.headers or {}),
        cookies=dict(pn.state.cookies or {}),
        oauth=pn.state.user_info,
    )


def safe_load_yaml(original: Callable, settings: Any) -> Callable:
    """``lumen.config.load_yaml``: sandboxed Jinja, no ``shell()``, ``yaml.SafeLoader``, request values as data."""
    import yaml

    lconfig = importlib.import_module("lumen.config")  # the module: lumen exports a `config` object
    policy = policy_of(settings)

    def load_yaml(yaml_spec: str, **flags: bool) -> Any:
        flags.pop("getshell", None)  # never available, whatever the caller asks
        try:
            return load_spec_text(
                yaml_spec,
                lconfig.config.template_vars,
                allowed_env=policy.allowed_env,
                request=_request_values(),
                **flags,
            )
        except SpecLoadRefused as exc:
            raise PolicyViolation(str(exc)) from exc
        except yaml.constructor.ConstructorError as exc:
            if "python/" in str(exc):
                raise PolicyViolation(
                    f"the spec uses a Python YAML tag, which lumen-ext never constructs: {exc}"
                ) from exc
            raise

    return load_yaml


def safe_expand_spec(original: Callable, settings: Any) -> Callable:
    """``lumen.util.expand_spec``: the same sandboxed rendering for values expanded after loading."""
    policy = policy_of(settings)

    def expand_spec(
        pars, context=None, getenv=True, getshell=True, getheaders=True, getcookies=True, getoauth=True
    ):
        if isinstance(pars, dict):
            return {
                k: expand_spec(v, context, getenv, False, getheaders, getcookies, getoauth)
                for k, v in pars.items()
            }
        if isinstance(pars, (list, tuple, set)):
            return type(pars)(
                expand_spec(v, context, getenv, False, getheaders, getcookies, getoauth) for v in pars
            )
        if not isinstance(pars, str):
            return pars
        try:
            text, tokens = render_spec_text(
                pars,
                context,
                allowed_env=policy.allowed_env,
                request=_request_values(),
                getenv=getenv,
                getheaders=getheaders,
                getcookies=getcookies,
                getoauth=getoauth,
            )
        except SpecLoadRefused as exc:
            raise PolicyViolation(str(exc)) from exc
        return tokens.substitute(text)

    return expand_spec


def safe_yaml_module(original: Any, settings: Any) -> Any:
    """``yaml`` as lumen.auth sees it: YamlAuthMapperPlugin reads its group file with ``yaml.Loader`` (auth.py:77)."""
    return _SafeYamlModule()


class _SafeYamlModule:
    """``yaml`` as seen by lumen.auth: every ``load`` uses ``SafeLoader``, whatever Loader is asked for."""

    def __getattr__(self, name: str) -> Any:
        import yaml

        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any = None) -> Any:
        import yaml

        return yaml.load(stream, Loader=yaml.SafeLoader)
