"""Where Dask sources compute is the operator's choice: settings, the LocalCluster's bounds, specs that try to
choose it, and `lumen-ext serve --dask-scheduler` against a real scheduler."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from support.paths import SPECS_DIR

from lumen_ext.sources import cluster
from lumen_ext.sources.cluster import DaskSettings, parse_scheduler
from lumen_ext.validation import validate_file


class TestSettings:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("local", "local"), (" LOCAL ", "local"), ("threads", "threads"),
         ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("tls://scheduler.internal:8786", "tls://scheduler.internal:8786")],
    )  # fmt: skip
    def test_accepted(self, value, expected):
        assert parse_scheduler(value) == expected

    @pytest.mark.parametrize(
        "value", ["", "10.0.0.5:8786", "http://host:8786", "tcp://host", "inproc://x/1/2"]
    )
    def test_refused(self, value):
        with pytest.raises(ValueError, match="expected 'threads', 'local' or an address"):
            parse_scheduler(value)

    def test_from_environment(self):
        env = {
            cluster.SCHEDULER_ENV: "tcp://127.0.0.1:8786",
            cluster.WORKERS_ENV: "3",
            cluster.THREADS_ENV: "4",
            cluster.MEMORY_ENV: "512MiB",
        }
        assert DaskSettings.from_env(env) == DaskSettings(
            scheduler="tcp://127.0.0.1:8786", n_workers=3, threads_per_worker=4, memory_limit="512MiB"
        )
        assert DaskSettings.from_env({}).scheduler == "threads"  # nothing configured: no cluster

    @pytest.mark.parametrize(
        ("name", "value"),
        [(cluster.WORKERS_ENV, "0"), (cluster.THREADS_ENV, "two"), (cluster.MEMORY_ENV, "lots")],
    )
    def test_bad_bounds_are_refused(self, name, value):
        with pytest.raises(ValueError, match=name):
            DaskSettings.from_env({name: value})


def test_local_cluster_is_bounded_lazy_and_closed():
    bounds = DaskSettings(
        scheduler="local", n_workers=1, threads_per_worker=1, memory_limit="300MiB", processes=False
    )
    cluster.configure(bounds)
    try:
        assert cluster._client is None  # configuring starts nothing
        client = cluster.scheduler()
        assert cluster.scheduler() is client  # one client per process
        info = client.scheduler_info()
        # A thread worker gets no memory limit (its monitor would measure this whole process and pause it).
        assert [(w["nthreads"], w["memory_limit"]) for w in info["workers"].values()] == [(1, 0)]
        http = cluster._cluster.scheduler.http_server  # health, metrics, dashboard: loopback only
        assert {sock.getsockname()[0] for sock in http._sockets.values()} == {"127.0.0.1"}
        assert client.submit(sum, [1, 2, 3]).result(timeout=30) == 6
    finally:
        cluster.close()
        cluster.configure(DaskSettings())
    assert client.status == "closed"
    assert cluster.scheduler() == "threads"


def _source_spec(tmp_path, type_name: str, *extra: str) -> str:
    lines = ["sources:", "  rides:", f"    type: {type_name}", "    tables:", "      trips: rides.parquet"]
    lines += [f"    {line}" for line in extra]
    lines += ["pipelines:", "  trips:", "    source: rides", "    table: trips"]
    lines += ["layouts:", "  - title: Trips", "    views:", "      - type: table", "        pipeline: trips"]
    spec = tmp_path / "spec.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


@pytest.mark.parametrize("type_name", ["dask", "lumen_ext.sources.dask.DaskSource"])
def test_validate_refuses_a_scheduler_in_the_spec(tmp_path, type_name):
    spec = _source_spec(tmp_path, type_name, "scheduler: tcp://203.0.113.9:8786")
    report = validate_file(spec, data=False)
    [diagnostic] = [d for d in report.diagnostics if d.severity == "error"]
    assert diagnostic.rule == "unknown-key"
    assert "'scheduler'" in diagnostic.message
    assert diagnostic.line == 6


@pytest.mark.parametrize("type_name", ["dask", "lumen_ext.sources.dask.DaskSource"])
def test_validate_knows_the_dask_source(tmp_path, type_name):
    spec = _source_spec(tmp_path, type_name, "kwargs: {columns: [fare_usd]}", "dask: maybe")
    [diagnostic] = [d for d in validate_file(spec, data=False).diagnostics if d.severity == "error"]
    assert (diagnostic.line, diagnostic.column) == (7, 11)  # the value of `dask:`
    assert "dask" in diagnostic.message


def test_lumen_itself_refuses_a_scheduler_key():
    from lumen.sources.base import Source
    from lumen.validation import ValidationError

    import lumen_ext.sources.dask  # noqa: F401  # defines `type: dask`, as lumen-ext serve does

    spec = {"type": "dask", "tables": {"t": "t.parquet"}, "scheduler": "tcp://203.0.113.9:8786"}
    with pytest.raises(ValidationError, match="scheduler"):
        Source.validate(spec)  # what Dashboard runs on a spec before building it
    with pytest.raises(ValueError, match="'scheduler' not a parameter"):
        Source.from_spec(spec)


def test_example_spec_validates():
    report = validate_file(SPECS_DIR / "rides_dask.yaml", data=False)
    assert not [d for d in report.diagnostics if d.severity == "error"], report.diagnostics


def test_serve_refuses_a_bad_scheduler_setting(tmp_path):
    spec = _source_spec(tmp_path, "dask")
    proc = subprocess.run(
        [sys.executable, "-m", "lumen_ext", "serve", str(spec), "--dask-scheduler", "http://example.com:1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "invalid Dask scheduler 'http://example.com:1'" in proc.stderr


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # pandas 3.1 noise from panel/duckdb
def test_serve_computes_on_the_operators_scheduler(tmp_path, rides_files, dask_cluster):
    from scale.helpers import serve

    (tmp_path / "rides.parquet").write_bytes(rides_files["parquet"].read_bytes())
    spec = tmp_path / "trips.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            sources:
              rides:
                type: dask
                tables:
                  trips: rides.parquet
            pipelines:
              fares:
                source: rides
                table: trips
                filters:
                  - type: widget
                    field: pickup_borough
                transforms:
                  - type: aggregate
                    by: [payment]
                    columns: [fare_usd]
                    method: mean
                    with_index: false
            layouts:
              - title: Fares
                views:
                  - type: table
                    pipeline: fares
            """
        )
    )
    before = dask_cluster.scheduler.transition_counter
    with serve([spec], "--dask-scheduler", dask_cluster.scheduler_address, log_dir=tmp_path) as served:
        status, _, body = served.get("/data/trips/fares?pickup_borough=Queens")
        assert status == 200, body
        log = served.log.read_text()
    assert dask_cluster.scheduler.transition_counter > before, "the server did not compute on the cluster"
    assert f"Dask sources compute on the Dask scheduler at {dask_cluster.scheduler_address}" in log

    data = pd.read_parquet(rides_files["parquet"])
    queens = data[data["pickup_borough"] == "Queens"]
    expected = queens.groupby("payment", observed=True)["fare_usd"].mean()
    expected.index = expected.index.astype(str)
    got = pd.DataFrame(json.loads(body)).set_index("payment")["fare_usd"]
    pd.testing.assert_series_equal(got, expected, check_index_type=False)
