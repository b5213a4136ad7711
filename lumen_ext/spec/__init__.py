"""The Lumen spec grammar: what keys and values every Lumen component accepts, checked without importing Lumen.

``check(spec)`` walks a plain (already YAML-loaded) spec and returns every :class:`SchemaIssue` it finds. It reads
``_lumen_components.json``, which ``python -m lumen_ext.spec.generate`` derives from Lumen's own ``param``
declarations, so the validator stays fast (no Panel, Bokeh, HoloViews or Lumen import) and agrees with Lumen.
The pydantic models (``lumen_ext.spec.models``) and the JSON Schema (``lumen-ext schema``) are built from the same
data.

Rule ids (stable; reporters and tests rely on them):

``unknown-key``
    A key the component does not accept (Lumen key-checks it and would refuse the spec). target ``key``.
``unknown-type``
    A ``type:`` that names no Lumen (or registered plugin) component of that family. target ``value``.
``missing-key``
    A required key is absent (``title``/``views`` on a layout, ``type`` on a component, ...). ``path`` is the
    mapping that lacks it; target ``mapping``.
``invalid-type``
    A value of the wrong kind (a string where Lumen expects an integer, a mapping where it expects a list...).
``invalid-value``
    A value of the right kind outside what Lumen allows (an enum choice, a numeric bound).
``unknown-option``
    An hvPlot view option that hvPlot does not accept for the view's ``kind`` (warning: hvPlot ignores it and
    warns, Lumen serves the view). target ``key``.
``deprecated-key``
    A key Lumen still accepts but has deprecated (warning). target ``key``.

Values that Lumen resolves later are never rejected: references (``$variables.x``, ``$source.table.field``,
any string containing ``$variables.<name>``), ``${...}`` URL templates, ``{{ ... }}`` Jinja text and values
prefixed with ``@``. Whether the referenced names exist is ``lumen_ext.validation``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumen_ext.spec.local_components import LocalComponents

__all__ = ["RULES", "SchemaIssue", "check", "check_all"]

RULES = (
    "unknown-key",
    "unknown-type",
    "missing-key",
    "invalid-type",
    "invalid-value",
    "unknown-option",
    "deprecated-key",
)


@dataclass(frozen=True)
class SchemaIssue:
    """One problem found in a spec, located by its path into the raw (plain dict/list) spec data."""

    path: tuple[str | int, ...]
    rule: str
    message: str
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"
    # "value": the node at `path`; "key": the mapping KEY named by path[-1]; "mapping": `path` is the parent
    # mapping (a required key is missing).
    target: str = "value"


def check(spec: Any, local: LocalComponents | None = None) -> list[SchemaIssue]:
    """Every schema issue in ``spec`` (a YAML-loaded dashboard spec), in document order. Never raises.

    ``local``: the components of the Python modules beside the spec (`local_components.read_local_components`),
    which Lumen registers when it executes them."""
    from lumen_ext.spec._checker import check_spec

    return check_spec(spec, local)[0]


def check_all(spec: Any, local: LocalComponents | None = None) -> list[SchemaIssue]:
    """`check`'s issues and those of the checks beyond the spec grammar (``lumen_ext.spec.build_checks``: values
    Lumen accepts in its declarations but fails on when it builds the dashboard), in document order per kind."""
    from lumen_ext.spec._checker import check_spec

    grammar, build = check_spec(spec, local)
    return [*grammar, *build]
