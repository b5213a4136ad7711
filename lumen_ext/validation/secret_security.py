"""Rule ``secret-displayed``: a secure variable's value written into text the browser receives.

Which places are displayed, and which variables carry a secret, is `lumen_ext.security.secret_display`'s: the
server masks exactly what this reports, by the same walk. Two ways in are reported, each at the reference itself:

* ``$variables.NAME`` where NAME is ``secure: true``, or an alias whose spec refers to one;
* Jinja ``{{ env('KEY') }}`` where KEY is the key of a ``secure: true`` env variable (Lumen pastes the value into
  the text before parsing it), also when it lands in an alias that a displayed place then refers to.

Severity error: under plain Lumen the value reaches every viewer (S4); under lumen-ext the page shows the mask
instead of what the author wrote. Either way the spec does not do what it says, and CI should stop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumen_ext.security.secret_display import (
    MASK,
    displayed_strings,
    secret_env_keys,
    secret_references,
    secret_variables,
)
from lumen_ext.spec import SchemaIssue
from lumen_ext.validation.diagnostics import Span
from lumen_ext.validation.jinja import EnvCall
from lumen_ext.validation.loader import LoadedSpec
from lumen_ext.validation.security_lint_base import Path_, security_issue

__all__ = ["SecretShown", "displayed_secrets"]

_SENT = ": plain Lumen renders the value into the page and sends it to every viewer's browser"
_HINT = (
    "use a secure variable only where the server needs it (a source's `uri`, password or headers) and write the "
    f"displayed text without it; lumen-ext serve shows `{MASK}` here"
)


@dataclass(frozen=True)
class SecretShown:
    """A ``secret-displayed`` finding, at the reference (a sub-string of the displayed value)."""

    span: Span
    issue: SchemaIssue


def displayed_secrets(loaded: LoadedSpec) -> list[SecretShown]:
    """Every reference to a secret in a displayed place of ``loaded``, in walk order."""
    data = loaded.data
    if not isinstance(data, dict):
        return []
    env_keys = secret_env_keys(data)
    calls = [call for call in loaded.env_calls if call.key in env_keys]

    def calls_in(path: Path_) -> list[EnvCall]:
        info = loaded.info(path) if calls else None
        if info is None:
            return []
        lo, hi = info.offsets
        return [call for call in calls if lo <= call.start < hi]

    def carried(path: Path_, text: str) -> str | None:
        found = calls_in(path)
        return env_keys[found[0].key] if found else None

    secrets = secret_variables(data, carried)
    found: list[SecretShown] = []
    for shown in displayed_strings(data):
        for m in secret_references(shown.text, secrets):
            name, origin = m.group(1), secrets[m.group(1)]
            what = (
                f"secure variable `{name}`"
                if origin == name
                else f"`{name}`, which holds the value of secure variable `{origin}`,"
            )
            found.append(
                SecretShown(
                    loaded.substring(shown.path, m.start(), len(m.group())),
                    _issue(shown.path, f"{what} is shown in {shown.place}{_SENT}"),
                )
            )
        for call in calls_in(shown.path):
            found.append(
                SecretShown(
                    loaded.lines.span(call.start, call.end),
                    _issue(
                        shown.path,
                        f"`env('{call.key}')` puts the value of secure variable `{env_keys[call.key]}` into "
                        f"{shown.place}{_SENT}",
                    ),
                )
            )
    return found


def _issue(path: Path_, message: str) -> SchemaIssue:
    return security_issue(path, "secret-displayed", message, _HINT)
