import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lumen_ext.cache.hashing import Unhashable, combine, stable_hash


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1, 2], (1, 2)),  # a list is a set of categories to a filter, a tuple a range
        (1, "1"),
        (1, True),
        (1, 1.0),
        ({"a": 1}, {"a": "1"}),
        (dt.date(2024, 1, 1), dt.datetime(2024, 1, 1)),
        (("ab", "c"), ("a", "bc")),
    ],
    ids=[
        "list-vs-tuple",
        "int-vs-str",
        "int-vs-bool",
        "int-vs-float",
        "dict-values",
        "date-vs-datetime",
        "split",
    ],
)
def test_different_values_hash_differently(a, b):
    assert stable_hash(a) != stable_hash(b)


def test_equal_values_hash_equally_whatever_the_dict_order():
    assert stable_hash({"a": [1, (2, 3)], "b": None}) == stable_hash({"b": None, "a": [1, (2, 3)]})
    assert stable_hash(pd.Timestamp("2024-01-01")) == stable_hash(pd.Timestamp("2024-01-01"))
    assert stable_hash(np.int64(3)) == stable_hash(np.int64(3))
    assert stable_hash(float("nan")) == stable_hash(float("nan"))


def test_objects_without_a_stable_encoding_are_refused():
    with pytest.raises(Unhashable):
        stable_hash(object())
    with pytest.raises(Unhashable):
        stable_hash({"f": lambda x: x})


def test_stage_keys_depend_on_the_upstream_key():
    assert combine("a", "sort", 1) != combine("b", "sort", 1)
    assert combine("a", "sort", 1) == combine("a", "sort", 1)
