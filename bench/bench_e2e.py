"""End to end: what a user feels between changing a filter and the plot's last update arriving in the browser.

    python bench/bench_e2e.py [--rows 10000000] [--repeats 5] [--targets lumen-ext dash lumen lumen-vanilla]

One dashboard, four servers, each started alone on 127.0.0.1 and timed by a client that speaks its protocol:

* ``lumen-ext``: ``lumen-ext serve`` on a spec with a DuckDB source over the synthetic rides file, a widget filter
  on ``pickup_borough``, ``aggregate`` (sum of fare and tip by service and payment), ``sort`` and an hvPlot bar
  chart. The client is a real Bokeh WebSocket client (``tests/support/bokeh_client.py``): it loads the page, pulls
  the document, then sends the filter widget's new value as a ``PATCH-DOC`` and times until the **last** reply
  patch arrived (the reply is over when the new data has arrived and nothing more follows for ``--quiet``
  seconds; the quiet wait itself is not counted).
* ``dash``: a minimal Plotly Dash app doing the same DuckDB query (``bench_cache.direct_sql``) and a ``px.bar``
  figure in a callback, timed over HTTP: one ``POST /_dash-update-component`` until its last byte arrived, which
  is what Dash's browser client waits for before redrawing.
* ``lumen``: Lumen's own ``lumen serve`` on the same spec, with the same Bokeh client. With lumen-ext installed it
  runs lumen-ext's runtime (``lumen_ext.serving.lumen_serve``), given the same operator policy through
  ``LUMEN_EXT_POLICY``.
* ``lumen-vanilla``: ``lumen serve`` with ``LUMEN_EXT_RUNTIME=0``: Lumen 1.4 as installed.

Timed: a filter value the server has not seen ("new value") and, after those, the same values again ("repeated
value"), medians of ``--repeats``; the first change is sent ``--settle`` seconds after the page opened, as a
viewer looks at a dashboard before using it (lumen-ext builds its rollup cubes meanwhile,
``lumen_ext.cache.rollup``). Every wait is bounded. Neither column includes the browser's own drawing.
``first reply ms`` is when the first patch of a Bokeh reply arrived (Lumen's loading spinner). Under vanilla
``lumen serve`` it comes after Panel's 50 ms debounce of browser changes; ``lumen-ext serve`` drops that wait for
discrete widgets (``lumen_ext.serving.widget_debounce``), and its spinner patch then leaves with the answer (Panel
flushes it when the change's callback returns), so first and last reply are close. The client sends with
``TCP_NODELAY``, as browsers do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # support.*: shared with the tests, not shipped

from bench_cache import BOROUGHS, direct_sql, filter_values

SPEC = """\
sources:
  rides:
    type: duckdb
    uri: ":memory:"
    shared: true
    tables:
      rides: "SELECT * FROM read_parquet('{path}')"
pipelines:
  fares:
    source: rides
    table: rides
    filters:
      - type: widget
        field: pickup_borough
    transforms:
      - type: aggregate
        by: [service, payment]
        columns: [fare_usd, tip_usd]
        method: sum
        with_index: false
      - type: sort
        by: [fare_usd]
        ascending: false
layouts:
  - title: Fares
    pipeline: fares
    views:
      - type: hvplot
        kind: bar
        x: service
        y: fare_usd
        by: payment
        height: 350
        responsive: true
"""

START_TIMEOUT = 300  # seconds for a server to come up (vanilla Lumen loads the 10M-row schema at start)
CHANGE_TIMEOUT = 120  # seconds for one filter change to be answered


# --- the Dash peer -----------------------------------------------------------------------------------------------


def dash_server(port: int, path: Path) -> None:
    """Serve the minimal Dash app (run in its own process by ``--dash-server``)."""
    import dash
    import duckdb
    import plotly.express as px
    from dash import Input, Output, dcc, html

    connection = duckdb.connect()
    app = dash.Dash(__name__)
    app.layout = html.Div(
        [
            dcc.Dropdown(id="borough", options=BOROUGHS, value=[], multi=True),
            dcc.Graph(id="fares"),
        ]
    )

    @app.callback(Output("fares", "figure"), Input("borough", "value"))
    def update(boroughs):
        # A cursor per call: Flask serves requests on threads, a DuckDB connection is not shared across them.
        frame = connection.cursor().execute(direct_sql(path, boroughs or BOROUGHS, False)).fetch_df()
        return px.bar(frame, x="service", y="fare_usd", color="payment", barmode="group", height=350)

    print(f"dash: serving at http://127.0.0.1:{port}/", flush=True)
    app.run(host="127.0.0.1", port=port, debug=False)


def dash_change(base: str, values: list[str]) -> tuple[float, float]:
    body = {
        "output": "fares.figure",
        "outputs": {"id": "fares", "property": "figure"},
        "inputs": [{"id": "borough", "property": "value", "value": values}],
        "changedPropIds": ["borough.value"],
        "state": [],
    }
    request = urllib.request.Request(
        f"{base}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=CHANGE_TIMEOUT) as response:
        payload = response.read()
    elapsed = time.perf_counter() - started
    if b'"fares"' not in payload:
        raise RuntimeError(f"unexpected Dash reply: {payload[:300]!r}")
    return elapsed, elapsed  # one reply: its first byte and its last are both the answer


def measure_dash(base: str, sequence: list[list[str]], settle: float) -> list[tuple[float, float]]:
    urllib.request.urlopen(base + "/", timeout=START_TIMEOUT).read()  # the page, as a viewer opens it
    time.sleep(settle)
    return [dash_change(base, values) for values in sequence]


# --- Lumen through its WebSocket -----------------------------------------------------------------------------------


DATA_EVENTS = ("ColumnDataChanged", "ColumnsStreamed", "ColumnsPatched")


def busy_spinner_off(content: dict) -> bool:
    """Whether a patch only turns the template's busy spinner off (Panel's ``LoadingSpinner``: ``loader`` classes).

    Panel keeps that spinner on for at least ``BooleanIndicator.throttle`` (500 ms) after it turned on, so that it
    does not flicker (panel/widgets/indicators.py, ``_throttle_events``): its "off" arrives about 500 ms after
    the change began, however fast the answer was. It is not part of the answer, so it ends no reply.
    """
    events = content.get("events", ())
    return bool(events) and all(
        event.get("kind") == "ModelChanged"
        and event.get("attr") == "css_classes"
        and event.get("new", [None])[:1] == ["loader"]
        and "spin" not in event.get("new")
        for event in events
    )


def carries_data(content: dict) -> bool:
    """Whether a reply patch brings the plot's new data: a patched source, or a new Figure with its sources."""
    events = content.get("events", ())
    if any(event.get("kind") in DATA_EVENTS for event in events):
        return True
    return any(event.get("attr") == "data" for event in events) or '"ColumnDataSource"' in json.dumps(content)


async def bokeh_change(session, values: list[str], quiet: float) -> tuple[float, float]:
    """Set the filter; seconds until the last patch of the server's reply arrived, and until its first one.

    The reply is over once the new data has arrived and nothing more followed for ``quiet`` seconds. Waiting for
    the data first matters: Lumen sends its loading spinner at once, then may compute for longer than ``quiet``.
    The busy spinner's throttled "off" (:func:`busy_spinner_off`) is not counted: it comes ~500 ms after the
    change by design, and whether it fell inside the quiet window or not made a run 120 or 600 ms.
    The first patch (the spinner) shows when the server began to act on the change: after Panel's debounce of
    browser changes (``Syncable._debounce``, 50 ms, unless ``widget_debounce`` removed it) and the filter's own
    processing.
    """
    started = time.perf_counter()
    change = {"kind": "ModelChanged", "model": {"id": session.widget}, "attr": "value", "new": values}
    await session.send("PATCH-DOC", {"events": [change]})
    deadline = time.monotonic() + CHANGE_TIMEOUT
    first = last = None
    data_arrived = False
    while True:
        wait = quiet if data_arrived else deadline - time.monotonic()
        try:
            _, content = await session.read(wait)
        except TimeoutError:
            if not data_arrived:
                raise
            return last - started, first - started
        if content.get("events") and not busy_spinner_off(content):
            last = time.perf_counter()
            first = first or last
            data_arrived = data_arrived or carries_data(content)


async def measure_bokeh(
    base: str, app: str, sequence: list[list[str]], quiet: float, settle: float
) -> list[tuple[float, float]]:
    from support.bokeh_client import Session

    session = Session(base, app)
    await session.open(START_TIMEOUT)  # sends with TCP_NODELAY, as browsers do
    await asyncio.sleep(settle)
    try:
        return [await bokeh_change(session, values, quiet) for values in sequence]
    finally:
        session.close()


# --- servers -------------------------------------------------------------------------------------------------------


def server(command: list[str], ready: str, log_path: Path, cwd: Path, env: dict[str, str] | None = None):
    """The launcher of `lumen-ext test` and the tests (``lumen_ext/gate/launch.py``) with Python warnings off, as
    the servers run in use."""
    from lumen_ext.gate.launch import launch

    env = {"PYTHONWARNINGS": "ignore", **(env or {})}
    return launch(
        command, ready, log_path, cwd=cwd, timeout=START_TIMEOUT, env=env, poll=0.3, stop_timeout=20
    )


def run_target(
    target: str,
    spec: Path,
    path: Path,
    sequence: list[list[str]],
    quiet: float,
    settle: float,
    work: Path,
    allocator: str = "malloc",
):
    from lumen_ext.serving.ports import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / f"{target}.log"
    if target == "dash":
        command = [sys.executable, __file__, "--dash-server", str(port), str(path)]
        with server(command, "dash: serving", log, work):
            time.sleep(1.0)  # the print precedes Flask's listen by a moment
            return measure_dash(base, sequence, settle)
    # The served spec lives in a temporary folder; the operator policy lets it read the data folder.
    policy = work / "policy.toml"
    policy.write_text(f"allowed_dirs = [{json.dumps(str(path.parent))}]\n")
    env = {}
    if target == "lumen-ext":
        command = [sys.executable, "-m", "lumen_ext", "serve", str(spec), "--port", str(port)]
        command += ["--policy", str(policy), "--allocator", allocator]
        ready = "lumen-ext: serving"
    else:
        lumen = str(Path(sys.executable).with_name("lumen"))
        command = [lumen, "serve", str(spec), "--port", str(port), "--address", "127.0.0.1"]
        command += ["--allow-websocket-origin", f"127.0.0.1:{port}"]
        ready = "Bokeh app running at"
        # `lumen`: through lumen-ext's door (lumen_ext/serving/lumen_serve.py), which reads the policy from
        # the environment; `lumen-vanilla`: the door switched off.
        env = {"LUMEN_EXT_POLICY": str(policy)} if target == "lumen" else {"LUMEN_EXT_RUNTIME": "0"}
    with server(command, ready, log, work, env):
        return asyncio.run(measure_bokeh(base, spec.stem, sequence, quiet, settle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quiet", type=float, default=0.5, help="seconds of silence that end a Bokeh reply")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=["lumen-ext", "dash", "lumen", "lumen-vanilla"],
        default=["lumen-ext", "dash", "lumen", "lumen-vanilla"],
    )
    parser.add_argument(
        "--allocator",
        choices=["malloc", "pymalloc"],
        default="malloc",
        help="lumen-ext serve's --allocator (its default: malloc)",
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds a viewer looks at the page before the first change"
    )
    parser.add_argument("--dash-server", nargs=2, metavar=("PORT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    if args.dash_server:
        dash_server(int(args.dash_server[0]), Path(args.dash_server[1]))
        return 0

    from lumen_ext.data.synthetic import ensure_synthetic

    path = ensure_synthetic(args.rows).resolve()
    values = filter_values(args.repeats + 1)[1:]
    sequence = values + values  # new values, then the same again: repeated values
    results: dict[str, list[tuple[float, float]]] = {}  # per change: (last patch, first patch) seconds
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        work = Path(tmp)
        spec = work / "rides_e2e.yaml"
        spec.write_text(SPEC.format(path=path))
        for target in args.targets:
            started = time.perf_counter()
            try:
                results[target] = run_target(
                    target, spec, path, sequence, args.quiet, args.settle, work, args.allocator
                )
            except Exception as exc:  # one failed server must not hide the others' figures
                print(f"{target}: failed: {exc}", file=sys.stderr)
                print((work / f"{target}.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            print(f"{target}: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    n = args.repeats
    dash = results.get("dash")
    header = (
        f"{'server':<13} {'scenario':<15} {'median ms':>9} {'min ms':>7} {'max ms':>7} {'n':>3} {'vs dash':>8}"
        f" {'first reply ms':>14}"
    )
    print(f"{args.rows:,} rows; Bokeh replies end after {args.quiet} s of silence (not counted)")
    print(header)
    print("-" * len(header))
    for target, times in results.items():
        for label, part in (("new value", times[:n]), ("repeated value", times[n:])):
            ms = [last * 1000 for last, _ in part]
            median = statistics.median(ms)
            if dash:
                peer = dash[:n] if label == "new value" else dash[n:]
                ratio = f"{median / statistics.median(last * 1000 for last, _ in peer):>7.2f}x"
            else:
                ratio = f"{'-':>8}"
            first = statistics.median(first * 1000 for _, first in part)
            print(
                f"{target:<13} {label:<15} {median:>9.1f} {min(ms):>7.1f} {max(ms):>7.1f} {len(ms):>3} {ratio}"
                f" {first:>14.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
