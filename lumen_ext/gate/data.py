"""The data assertions of a checks file, evaluated on the data the dashboard itself computes.

A pipeline's output comes from the server being tested: its ``/data/APP/PIPELINE`` endpoint computes the named
pipeline as a freshly opened page holds it (`lumen_ext.serving.pipeline_data`), as Parquet so dtypes survive. A
source table has no such endpoint (it may hold more than any view shows), so it is read in this process the way
the server reads it: Lumen's source built from the spec, with lumen-ext's runtime (the ``test`` profile of the
hooks table: the same guards, the same readers) and the spec's folder as the working directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumen_ext.checks.evaluate import evaluate
from lumen_ext.checks.models import ChecksFile
from lumen_ext.gate.results import Check

__all__ = ["install_runtime", "pipeline_checks", "table_checks"]

DATA_TIMEOUT = 120  # seconds for the server to compute a pipeline


def pipeline_checks(
    base_url: str, app: str, checks: ChecksFile, where: Callable[[tuple], str]
) -> list[Check]:
    """Every ``pipelines:`` assertion, on the output the server at ``base_url`` computes for app ``app``."""
    import pandas as pd

    out: list[Check] = []
    for name, data_checks in checks.pipelines.items():
        path = ("pipelines", name)
        try:
            url = f"{base_url}/data/{app}/{urllib.request.quote(name, safe='')}?format=parquet"
            with urllib.request.urlopen(url, timeout=DATA_TIMEOUT) as response:
                frame = pd.read_parquet(io.BytesIO(response.read()))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = _http_reason(exc)
            out.append(Check(f"pipeline {name}: its data can be read", False, reason, where(path)))
            continue
        out += _outcomes(data_checks, frame, f"pipeline {name}", path, where)
    return out


def table_checks(spec: Path, checks: ChecksFile, where: Callable[[tuple], str]) -> list[Check]:
    """Every ``tables:`` assertion, on the tables as Lumen's sources read them (needs the ``test`` hooks: see
    :func:`install_runtime`)."""
    from lumen_ext.serving.pipeline_data import source_table_frame

    out: list[Check] = []
    with contextlib.chdir(spec.parent):  # DuckDB and file sources resolve relative paths as the server does
        for source, tables in checks.tables.items():
            for table, data_checks in tables.items():
                path = ("tables", source, table)
                what = f"table {source}.{table}"
                try:
                    frame = source_table_frame(spec, source, table)
                except (
                    Exception
                ) as exc:  # a missing file, a failing query: this table's checks fail, not the run
                    out.append(
                        Check(
                            f"{what}: its data can be read",
                            False,
                            f"{type(exc).__name__}: {exc}",
                            where(path),
                        )
                    )
                    continue
                out += _outcomes(data_checks, frame, what, path, where)
    return out


def install_runtime(policy: Any) -> None:
    """lumen-ext's runtime in this process, before any source is built (once)."""
    from lumen_ext import hooks

    hooks.install("test", hooks.Settings(policy=policy))


def _outcomes(data_checks, frame, what: str, path: tuple, where: Callable[[tuple], str]) -> list[Check]:
    return [
        Check(outcome.name, outcome.ok, outcome.detail, where(outcome.path))
        for outcome in evaluate(data_checks, frame, what, path)
    ]


def _http_reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        try:
            body = json.loads(exc.read().decode("utf-8", "replace"))
            return f"HTTP {exc.code}: {body.get('error', body)}" + (
                f" (error id {body['error_id']}: see the server log)" if body.get("error_id") else ""
            )
        except ValueError:
            return f"HTTP {exc.code}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"
