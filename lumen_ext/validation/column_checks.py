"""Checking that the columns a spec names exist, and reporting the ones that do not: the base of
:class:`lumen_ext.validation.dataflow.DataFlow`, which supplies ``ctx``, ``model`` and ``unknown_uses``."""

from __future__ import annotations

from typing import Any

from lumen_ext.validation.context import CheckContext, did_you_mean
from lumen_ext.validation.datasources import Columns
from lumen_ext.validation.diagnostics import Span
from lumen_ext.validation.loader import Path
from lumen_ext.validation.model import SpecModel

__all__ = ["ColumnChecks"]


class ColumnChecks:
    ctx: CheckContext
    model: SpecModel
    # Each name reported unknown, with the first place the spec uses it: the lock's drift check tells a column
    # gone from the data that the spec still uses (an error) from one nothing uses (a warning).
    unknown_uses: dict[str, Path]

    def check_fields(
        self, cols: Columns | None, value: Any, path: Path, where: str, allowed: set[str] = frozenset()
    ) -> None:
        if cols is None or value is None:
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.check_field(cols, item, (*path, i), where, allowed=allowed)
        else:
            self.check_field(cols, value, path, where, allowed=allowed)

    def check_field(
        self,
        cols: Columns | None,
        value: Any,
        path: Path,
        where: str,
        *,
        target: str = "value",
        allowed: set[str] = frozenset(),
    ) -> None:
        if cols is None or value is None:
            return
        ok, value = self.model.resolve(value)
        if not ok or not isinstance(value, str | int) or isinstance(value, bool) or str(value) in allowed:
            return
        if cols.missing(value):
            self.report_missing(cols, str(value), path, where, target=target)

    def report_missing(
        self,
        cols: Columns,
        name: str,
        path: Path,
        where: str,
        *,
        target: str = "value",
        span_offset: tuple[int, int] | None = None,
        span: Span | None = None,
        note: str = "",
    ) -> None:
        if span_offset:
            span = self.ctx.loaded.substring(path, *span_offset)
        if cols.locked_in:
            note += f" (its columns as locked in `{cols.locked_in}`)"
        self.unknown_uses.setdefault(name, path)
        self.ctx.report(
            path,
            "unknown-column",
            f"column `{name}` does not exist in {where}{note}",
            did_you_mean(name, cols.names, "columns"),
            target=target,
            span=span,
        )
