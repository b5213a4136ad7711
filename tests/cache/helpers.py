"""Comparison helpers shared by the cache tests."""

from __future__ import annotations

import pandas as pd


def assert_same_data(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    sort_keys: list[str] | None = None,
    exact_dtypes: bool = False,
) -> None:
    """Same rows, columns, index labels and values as Lumen's own result.

    Unless ``exact_dtypes``, dtypes are compared by value only: DuckDB gives an integer column a nullable dtype only when the
    fetched rows hold a NULL, so a pushed aggregate or limit may return int64 where pandas has Int64.
    With ``sort_keys``, rows tying on every key may come in any order (pandas' default quicksort is not
    stable), but the key sequence itself must match exactly.
    """
    assert list(actual.columns) == list(expected.columns)
    assert list(actual.index.names) == list(expected.index.names)
    if exact_dtypes:  # file scans restore pandas' dtypes, index levels included (categories and their order)
        assert dict(actual.dtypes) == dict(expected.dtypes)
        levels = range(actual.index.nlevels)
        assert [actual.index.get_level_values(i).dtype for i in levels] == [
            expected.index.get_level_values(i).dtype for i in levels
        ]
    if sort_keys:
        keys = [k for k in sort_keys]
        pd.testing.assert_frame_equal(
            actual.reset_index()[keys].reset_index(drop=True),
            expected.reset_index()[keys].reset_index(drop=True),
            check_dtype=False,
        )
        actual, expected = _canonical(actual), _canonical(expected)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_index_type=False)


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    flat = df.reset_index()
    flat.columns = [str(c) for c in flat.columns]
    return flat.sort_values(list(flat.columns), kind="stable", na_position="last").reset_index(drop=True)
