"""`lumen-ext serve SPEC.yaml...`: validate, then serve specs as Panel apps with every asset served locally."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from lumen_ext.security.options import add_policy_argument, policy_from_args
from lumen_ext.serving import allocator, processes
from lumen_ext.serving.ports import free_port
from lumen_ext.sources import cluster as dask_cluster

log = logging.getLogger("lumen_ext.serve")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="Lumen YAML spec(s) to serve")
    parser.add_argument(
        "--port", type=int, default=5006, help="port to listen on (default: 5006; 0 picks a free one)"
    )
    parser.add_argument(
        "--address", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="public host[:port] browsers reach the server by (repeatable; behind a proxy or load balancer)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="URL browsers reach this server at, when a proxy puts it elsewhere (default: http://ADDRESS:PORT); "
        "Panel's assets are served from here instead of CDNs",
    )
    parser.add_argument(
        "--direct-tiles",
        action="store_true",
        help="let browsers fetch web-map tiles from their providers instead of through this server",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every pipeline stage as Lumen does, without lumen-ext's shared stage cache",
    )
    parser.add_argument("--show", action="store_true", help="open the dashboard in a browser")
    parser.add_argument(
        "--reload",
        action="store_true",
        help="while you edit: saving the spec, its data files, a .py beside it or the policy file re-validates it and "
        "reloads its open pages (the diagnostics page while it has errors); one process only",
    )
    parser.add_argument(
        "--no-validate", action="store_true", help="skip lumen-ext validation (serve exactly as Lumen would)"
    )
    parser.add_argument("--no-data", action="store_true", help="skip the data-aware checks of validation")
    add_policy_argument(parser)
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development mode: tracebacks in the page, no-OAuth auth bypass (never on a shared server)",
    )
    processes.configure(parser)
    dask_cluster.add_serve_arguments(parser)
    parser.add_argument(
        "--no-data-endpoint",
        action="store_true",
        help="do not serve /data/APP/PIPELINE (pipeline results as JSON, CSV or Parquet)",
    )
    parser.add_argument(
        "--session-lifetime",
        type=int,
        default=15_000,
        metavar="MS",
        help="discard a closed session after this many milliseconds (default: 15000)",
    )
    parser.add_argument(
        "--allocator",
        choices=allocator.CHOICES,
        default="malloc",
        help="CPython's allocator for small objects. malloc (default on glibc): the server re-executes itself "
        "with PYTHONMALLOC=malloc, so memory of closed sessions goes back to the OS; pymalloc: CPython's "
        "default, which keeps it. A PYTHONMALLOC already set is respected",
    )
    parser.add_argument(
        "--websocket-max-message-size",
        type=int,
        default=4 * 1024 * 1024,
        metavar="BYTES",
        help="largest message a browser may send (default: 4 MiB; Bokeh's own is 20 MiB). A dashboard's widget "
        "changes are a few hundred bytes; a larger message closes that session's connection (code 1009)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="HOOK",
        help="leave out a hook or group of lumen-ext's runtime (repeatable; `lumen-ext doctor` lists them), "
        "keeping the upstream behaviour there, e.g. to compare",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _check_specs(specs: list[Path]) -> str | None:
    for spec in specs:
        if not spec.is_file():
            return f"no such spec file: {spec}"
    if len({spec.stem for spec in specs}) < len(specs):
        return "two specs have the same name (file stem): each is served at /NAME"
    if len({spec.parent for spec in specs}) > 1:
        # DuckDB resolves relative paths against the working directory (LUMEN-NOTES §6.2 #17), and we run from
        # the specs' folder so they resolve as the author wrote them; one process has one working directory.
        return "all specs served together must sit in the same folder"
    return None


def _check_reload(args: argparse.Namespace) -> str | None:
    if args.reload and args.num_procs != 1:
        # Each worker would watch the files and only its own sessions' pages would reload.
        return "--reload serves from one process: leave out --num-procs"
    return None


def _check_public_url(public_url: str | None) -> str | None:
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        return (
            "--public-url must be an absolute http:// or https:// URL (Panel's asset roots are built from it)"
        )
    return None


def _dashboards(args: argparse.Namespace, specs: list[Path], policy, public_url: str):
    from lumen_ext.serving.bokeh_server import dashboards

    return dashboards(
        specs,
        public_url=public_url,
        policy=policy,
        cache=False if args.no_cache else processes.cache_config(args),
        validate=not args.no_validate,
        data_checks=not args.no_data,
        data_endpoint=not args.no_data_endpoint,
        proxy_tiles=not args.direct_tiles,
        without=args.without,
        chdir=True,
        diagnostics_to=sys.stderr,
        session_lifetime_ms=args.session_lifetime,
        websocket_max_message_size=args.websocket_max_message_size,
        reload=args.reload,
    )


def run(args: argparse.Namespace) -> int:
    specs = [spec.resolve() for spec in args.specs]
    if problem := (
        _check_specs(specs)
        or _check_public_url(args.public_url)
        or processes.problem(args)
        or _check_reload(args)
        or dask_cluster.configure_from_args(args)
    ):
        print(f"lumen-ext serve: {problem}", file=sys.stderr)
        return 2
    # First thing after the usage checks: the allocator is chosen at interpreter start (a no-op in-process).
    allocator.reexec_for_malloc(args.allocator, allocator.own_command_line())
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    policy = policy_from_args(args, "lumen-ext serve")  # a bad policy file fails before anything starts
    if policy is None:
        return 2
    if args.dev:
        policy = policy.with_overrides(dev=True)

    # Bokeh needs the port up front to build its websocket origin allowlist.
    port = args.port or free_port(args.address)
    public_url = args.public_url or f"http://{args.address}:{port}"

    # The same builder as a Bokeh Server of the user's own (lumen_ext.tornado): Panel's CDN roots pointed here
    # before anything imports Panel, the diagnostics on the terminal, the specs' folder as the working directory
    # (DuckDB resolves relative paths against it, LUMEN-NOTES §6.2 #17), the `serve` hooks, the apps and routes.
    served = _dashboards(args, specs, policy, public_url)

    import panel as pn

    from lumen_ext.serving import shutdown

    origins = args.allow_websocket_origin or [f"{args.address}:{port}", f"localhost:{port}"]
    parent = os.getpid()
    if args.num_procs != 1:
        shutdown.forward_to_workers()  # before Bokeh forks: one signal to this PID stops every worker
    server = pn.serve(
        served.applications,
        port=port,
        address=args.address,
        websocket_origin=origins,
        show=False,
        start=False,
        extra_patterns=served.routes,  # pn.serve adds Panel's own routes
        num_procs=args.num_procs,
        **served.server_kwargs,
    )
    # Bokeh's periodic jobs: discarding closed sessions (without it every session stays in memory) and
    # keep-alive pings. (With --num-procs, Bokeh forked the processes when pn.serve built the server.)
    server.start()
    # SIGTERM/SIGINT (and, in a worker, its parent's exit): close frames, in-flight callbacks finished, exit 0.
    # Each process's start-up heap leaves the collector's full passes (they ran ~1 s apiece with 30 sessions).
    served.started(server, parent=parent if os.getpid() != parent else None)
    names = [path.lstrip("/") for path in served.applications]
    for name in names:
        # Stable, parseable line: tests and scripts wait for it.
        print(f"lumen-ext: serving {name} at http://{args.address}:{port}/{name}", flush=True)
    if args.show and args.num_procs == 1:
        server.show("/" + names[0])
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before the handlers are in place
        server.io_loop.start()
    shutdown.exit_after_stop()  # the loop returns only once a signal stopped the server
