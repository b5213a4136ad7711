"""Stable content hashes for cache keys.

Python's ``hash()`` is salted per process and Lumen's ``Transform.__hash__`` goes through Panel's
``_generate_hash``, which falls back to ``id()`` for objects it does not know. A key built on either could
collide after an object is freed and its id reused, handing one session another session's data. So keys
here are built from an explicit, typed encoding of plain values, and anything else raises
:class:`Unhashable`: the caller then treats that stage as uncacheable instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import math
from pathlib import PurePath
from typing import Any

__all__ = ["Unhashable", "combine", "stable_hash"]

DIGEST_SIZE = 20  # 160 bits: collisions are not a practical concern, keys stay short in logs


class Unhashable(TypeError):
    """A value has no stable content encoding, so a result depending on it must not be shared."""


def stable_hash(*parts: Any) -> str:
    """Hex digest of ``parts``; equal for equal values across processes, different across types."""
    h = hashlib.blake2b(digest_size=DIGEST_SIZE)
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def combine(parent: str | None, *parts: Any) -> str:
    """Key of a stage from its upstream key and its own inputs."""
    return stable_hash("stage", parent, *parts)


def _tag(h, tag: str, payload: bytes = b"") -> None:
    # Length-prefixed, so ("ab", "c") and ("a", "bc") never encode alike.
    h.update(tag.encode())
    h.update(len(payload).to_bytes(8, "little"))
    h.update(payload)


def _feed(h, obj: Any) -> None:
    if obj is None:
        _tag(h, "none")
    elif isinstance(obj, bool):  # before int: True == 1 but means something else to a filter
        _tag(h, "bool", b"1" if obj else b"0")
    elif isinstance(obj, enum.Enum):
        _tag(h, "enum", f"{type(obj).__module__}.{type(obj).__qualname__}.{obj.name}".encode())
    elif isinstance(obj, int):
        _tag(h, "int", str(obj).encode())
    elif isinstance(obj, float):
        _tag(h, "float", (repr(obj) if not math.isnan(obj) else "nan").encode())
    elif isinstance(obj, str):
        _tag(h, "str", obj.encode("utf-8", "surrogatepass"))
    elif isinstance(obj, bytes):
        _tag(h, "bytes", obj)
    elif isinstance(obj, tuple | list):
        # A tuple is a range and a list a set of categories to a Lumen filter: keep them apart.
        _tag(h, type(obj).__name__ if type(obj) in (tuple, list) else "seq", str(len(obj)).encode())
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: stable_hash(kv[0]))
        _tag(h, "dict", str(len(items)).encode())
        for k, v in items:
            _feed(h, k)
            _feed(h, v)
    elif isinstance(obj, set | frozenset):
        _tag(h, "set", "".join(sorted(stable_hash(x) for x in obj)).encode())
    elif isinstance(obj, PurePath):
        _tag(h, "path", str(obj).encode())
    elif isinstance(obj, dt.datetime | dt.date | dt.time | dt.timedelta):
        _feed_temporal(h, obj)
    else:
        _feed_library(h, obj)


def _feed_temporal(h, obj: Any) -> None:
    name = type(obj).__name__
    if isinstance(obj, dt.timedelta):
        _tag(h, name, str(obj.total_seconds()).encode())
        return
    text = obj.isoformat()
    nanos = getattr(obj, "nanosecond", 0)  # pandas.Timestamp keeps sub-microsecond precision
    _tag(h, name, f"{text}|{nanos}".encode())


def _feed_library(h, obj: Any) -> None:
    module = type(obj).__module__.split(".")[0]
    if module == "numpy":
        import numpy as np

        if isinstance(obj, np.generic):
            _tag(h, f"np.{obj.dtype.str}", repr(obj.item()).encode())
            return
        if isinstance(obj, np.ndarray) and obj.dtype.kind not in "OV":
            _tag(h, f"ndarray.{obj.dtype.str}.{obj.shape}", np.ascontiguousarray(obj).tobytes())
            return
    if module == "pandas":
        import pandas as pd

        if obj is pd.NaT:
            _tag(h, "NaT")
            return
        if isinstance(obj, pd.Timestamp | pd.Timedelta):
            _feed_temporal(h, obj)
            _tag(h, "tz", str(getattr(obj, "tz", None)).encode())
            return
    if module == "sqlglot" and hasattr(obj, "sql"):
        _tag(h, f"sqlglot.{type(obj).__name__}", obj.sql().encode())
        return
    raise Unhashable(f"no stable hash for {type(obj).__module__}.{type(obj).__qualname__}")
