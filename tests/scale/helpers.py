"""A small sales dashboard on disk and a scaled `lumen-ext serve` subprocess to test against."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from support.sales import SALES_SPEC

from lumen_ext.serving.ports import free_port

REGIONS = ["East", "North", "South", "West"]


# The same dashboard, readable only by members of the `analysts` group.
PRIVATE_SPEC = SALES_SPEC + "auth:\n  groups: [analysts]\n"

# A misspelled transform type: lumen-ext validate reports an error.
BROKEN_SPEC = SALES_SPEC.replace("type: aggregate", "type: agregate")


def make_sales(rows: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "region": rng.choice(REGIONS, rows),
            "product": rng.choice(["apple", "pear", "plum"], rows),
            "qty": rng.integers(1, 20, rows),
            "price": rng.integers(1, 400, rows) / 4,
        }
    )


def write_project(folder: Path, rows: int = 2000) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    make_sales(rows).to_csv(folder / "sales.csv", index=False)
    specs = {"sales": SALES_SPEC, "private": PRIVATE_SPEC, "broken": BROKEN_SPEC}
    for name, text in specs.items():
        (folder / f"{name}.yaml").write_text(text)
    return {name: folder / f"{name}.yaml" for name in specs}


def expected_by_product(region: str) -> pd.DataFrame:
    df = make_sales()
    return df[df.region == region].drop(columns="region").groupby("product").sum().reset_index()


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


@contextlib.contextmanager
def serve(
    specs: list[Path], *extra: str, log_dir: Path, processes: int = 1, startup: float = 90.0
) -> Iterator[Served]:
    """Run `lumen-ext serve` on a free loopback port until every process printed its URL."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "lumen_ext",
        "serve",
        *map(str, specs),
        "--port",
        str(port),
        "--no-data",
        *extra,
    ]
    if processes != 1:
        cmd += ["--num-procs", str(processes)]
    with log.open("wb") as out:
        # Own process group: --num-procs forks children, and teardown must stop them all.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + startup
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if len(re.findall(r"^lumen-ext: serving ", text, re.M)) >= len(specs) * max(processes, 1):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{text}")
            time.sleep(0.2)
        else:
            raise TimeoutError(f"server not up within {startup} s:\n{log.read_text(errors='replace')}")
        yield Served(f"http://127.0.0.1:{port}", proc, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def metric_values(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of the samples of one metric in Prometheus text."""
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found
