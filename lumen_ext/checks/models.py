"""The checks file's models: data assertions per pipeline or source table, time budgets per layout and view.

One source of text per key: each ``Field(description=...)`` is the hover text of the generated JSON Schema
(``schemas/lumen-checks.schema.json``) and what ``docs/testing.md`` describes. Unknown keys are errors
(``extra="forbid"``): a misspelled assertion must not pass silently.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

__all__ = [
    "DTYPE_KINDS",
    "Bounds",
    "ChecksFile",
    "DataChecks",
    "LayoutBudget",
    "ValueRule",
    "ViewBudget",
    "parse_duration",
]

# What `columns:` may ask a column to be; `lumen_ext.checks.evaluate.dtype_kind_matches` says what each admits.
DTYPE_KINDS = ("int", "float", "number", "string", "bool", "datetime", "category", "any")
DtypeKind = Literal["int", "float", "number", "string", "bool", "datetime", "category", "any"]

_DURATION = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)\s*$")


def parse_duration(value: Any) -> Any:
    """Seconds from ``2``, ``2.5``, ``"2.5s"`` or ``"800ms"``; anything else is left for pydantic to refuse."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError("a duration is a number of seconds, or a string such as '2.5s' or '800ms'")
        amount = float(match["amount"])
        return amount / 1000 if match["unit"] == "ms" else amount
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(gt=0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": _DURATION.pattern},
            ]
        }
    ),
]
# A bound of a value range: a number, or a date/time for datetime columns (YAML reads `2024-04-01` as a date).
Scalar = bool | int | float | dt.datetime | dt.date | str


class _Strict(BaseModel):
    # Good for spotting typos: a misspelled assertion would otherwise never run.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Bounds(_Strict):
    """How many rows the data may have."""

    min: int | None = Field(None, ge=0, description="at least this many rows")
    max: int | None = Field(None, ge=0, description="at most this many rows")

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class ValueRule(_Strict):
    """What the values of one column may be. Nulls are ignored by ``min``, ``max`` and ``in``."""

    min: Scalar | None = Field(
        None, description="no value below this (a number, or a date for datetime columns)"
    )
    max: Scalar | None = Field(
        None, description="no value above this (a number, or a date for datetime columns)"
    )
    in_: list[Scalar] | None = Field(None, alias="in", description="every value is one of these")
    not_null: bool = Field(False, description="no missing value (null, NaN, NaT)")

    @model_validator(mode="after")
    def _something(self) -> ValueRule:
        if self.min is None and self.max is None and self.in_ is None and not self.not_null:
            raise ValueError("give min, max, in or not_null")
        return self


class DataChecks(_Strict):
    """Assertions about one pipeline's output (as a freshly opened page shows it) or one source table."""

    columns: dict[str, DtypeKind] | None = Field(
        None,
        description="columns that must exist, each with the kind of data it holds: "
        + ", ".join(DTYPE_KINDS)
        + " (any: only that it exists)",
    )
    not_empty: bool = Field(False, description="the data has at least one row")
    rows: Bounds | None = Field(None, description="bounds on the number of rows")
    unique: str | list[str] | None = Field(
        None, description="a column, or columns together, that no two rows share (a key)"
    )
    values: dict[str, ValueRule] | None = Field(
        None, description="per column: range, allowed values, no nulls"
    )

    def unique_key(self) -> list[str]:
        return [self.unique] if isinstance(self.unique, str) else list(self.unique or [])


class ViewBudget(_Strict):
    """Time budgets measured in the page, in seconds (``2``, ``"2.5s"``, ``"800ms"``)."""

    first_render: Duration | None = Field(
        None,
        description="from opening the page (or clicking the layout's tab) until the view shows its data",
    )
    filter_change: Duration | None = Field(
        None, description="from operating a control until the view shows the new data (the slowest change)"
    )


class LayoutBudget(ViewBudget):
    """Time budgets of one layout (by its ``title``), and of the views in it (by their name in ``views:``)."""

    views: dict[str, ViewBudget] = Field(default_factory=dict, description="budgets of single views, by name")


class ChecksFile(_Strict):
    """``NAME.checks`` beside ``NAME.yaml``: what ``lumen-ext test`` asserts beyond a clean, working page."""

    pipelines: dict[str, DataChecks] = Field(
        default_factory=dict, description="assertions on the output of pipelines named under `pipelines:`"
    )
    tables: dict[str, dict[str, DataChecks]] = Field(
        default_factory=dict,
        description="assertions on source tables: source name -> table name -> assertions",
    )
    layouts: dict[str, LayoutBudget] = Field(
        default_factory=dict, description="time budgets, by layout title"
    )
