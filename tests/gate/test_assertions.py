"""Data assertions of a checks file evaluated in-process on real DataFrames: what holds, what fails, and what
the failure says (`lumen_ext.checks.evaluate`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lumen_ext.checks.evaluate import dtype_kind_matches, evaluate
from lumen_ext.checks.models import ChecksFile, DataChecks, parse_duration

PATH = ("pipelines", "events")


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-04-01 10:00", "2024-05-02 11:00", "2024-07-31 16:55"]),
            "place": ["Java", "Luzon", None],
            "mag": [4.0, 5.5, 7.1],
            "depth": [10, 300, 640],
            "kind": pd.Categorical(["a", "b", "a"]),
            "flag": [True, False, True],
            "day": [dt.date(2024, 4, 1), dt.date(2024, 5, 2), dt.date(2024, 7, 31)],
        }
    )


def outcomes(spec: dict, frame: pd.DataFrame) -> dict[tuple, tuple[bool, str, str]]:
    checks = DataChecks.model_validate(spec)
    return {o.path: (o.ok, o.name, o.detail) for o in evaluate(checks, frame, "pipeline events", PATH)}


def test_assertions_that_hold(events):
    spec = {
        "columns": {
            "time": "datetime",
            "place": "string",
            "mag": "float",
            "depth": "int",
            "kind": "category",
            "flag": "bool",
            "day": "datetime",
        },
        "not_empty": True,
        "rows": {"min": 3, "max": 3},
        "unique": ["time", "mag"],
        "values": {
            "mag": {"min": 3.9, "max": 9.5, "not_null": True},
            "time": {"min": dt.date(2024, 4, 1), "max": "2024-08-01"},
            "day": {"min": dt.date(2024, 4, 1), "max": dt.date(2024, 7, 31)},
            "kind": {"in": ["a", "b"]},
            "place": {"in": ["Java", "Luzon"]},  # a null is not a value outside the set (not_null says so)
        },
    }
    found = outcomes(spec, events)
    assert len(found) == 19
    assert all(ok for ok, _, _ in found.values()), found
    assert found[(*PATH, "values", "mag", "max")][1:] == ("pipeline events: `mag` <= 9.5", "largest 7.1")
    assert found[(*PATH, "rows")][1:] == ("pipeline events: 3 <= rows <= 3", "3 rows")


def test_each_failure_says_what_was_found(events):
    spec = {
        "columns": {"mag": "int", "depth": "float", "flag": "number", "missing": "any"},
        "rows": {"min": 10},
        "unique": "kind",
        "values": {
            "mag": {"max": 6},
            "depth": {"min": 20},
            "place": {"not_null": True},
            "kind": {"in": ["a"]},
            "nowhere": {"min": 1},
        },
    }
    found = outcomes(spec, events)
    assert not any(ok for ok, _, _ in found.values())
    assert found[(*PATH, "columns", "mag")][2] == "dtype float64"
    assert found[(*PATH, "columns", "flag")][2] == "dtype bool"  # booleans are not numbers to a spec author
    assert found[(*PATH, "columns", "missing")][2].startswith(
        "no column `missing` in the data (it has time, "
    )
    assert found[(*PATH, "rows")][1:] == ("pipeline events: 10 <= rows", "3 rows")
    assert found[(*PATH, "unique")][2] == "1 rows repeat a key, e.g. a"
    assert found[(*PATH, "values", "mag", "max")][2] == "1 of 3 values above 6; largest 7.1"
    assert found[(*PATH, "values", "depth", "min")][2] == "1 of 3 values below 20; smallest 10"
    assert found[(*PATH, "values", "place", "not_null")][2] == "1 of 3 values missing"
    assert found[(*PATH, "values", "kind", "in")][2] == "1 values outside the allowed ones, e.g. b"
    assert found[(*PATH, "values", "nowhere", "min")][2].startswith("no column `nowhere`")


def test_a_bound_that_cannot_be_compared_fails_with_the_reason(events):
    found = outcomes({"values": {"mag": {"min": "cheap"}}}, events)
    ok, _, detail = found[(*PATH, "values", "mag", "min")]
    assert not ok and detail.startswith("cheap cannot be compared with values of dtype float64")


def test_time_zones_follow_the_column():
    frame = pd.DataFrame({"time": pd.to_datetime(["2024-04-01 10:00"]).tz_localize("Asia/Jakarta")})
    found = outcomes({"values": {"time": {"min": "2024-04-01 09:00", "max": "2024-04-01 11:00"}}}, frame)
    assert all(ok for ok, _, _ in found.values()), found


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("string", ["a", None], True),
        ("string", pd.array(["a", None], dtype="string"), True),
        ("string", [1, 2], False),
        ("number", [1, 2], True),
        ("int", [1.0, 2.0], False),
        ("datetime", [dt.date(2024, 1, 1), None], True),
        ("datetime", ["2024-01-01"], False),
        ("category", pd.Categorical(["x"]), True),
        ("string", pd.Categorical(["x"]), False),
    ],
)
def test_kinds_of_columns(kind, values, expected):
    assert dtype_kind_matches(kind, pd.Series(values)) is expected


def test_durations():
    assert parse_duration("800ms") == pytest.approx(0.8)
    assert parse_duration("2.5s") == 2.5
    assert parse_duration(3) == 3
    budget = ChecksFile.model_validate(
        {"layouts": {"L": {"first_render": "1.5s", "views": {"v": {"filter_change": 2}}}}}
    )
    assert budget.layouts["L"].first_render == 1.5
    assert budget.layouts["L"].views["v"].filter_change == 2
    with pytest.raises(ValueError, match="a duration is a number of seconds"):
        ChecksFile.model_validate({"layouts": {"L": {"first_render": "2 min"}}})
