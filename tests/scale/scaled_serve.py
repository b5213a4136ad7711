"""`lumen-ext serve` with the scale-out pieces wired in the way docs/deploy.md asks the serve command to.

Runs the real ``lumen_ext.serving.command.run`` and adds, around it, what its integration adds: the
``--num-procs``/``--redis-url``/``--cache-dir`` options, the stage cache with its second tier, and the
endpoint routes. Used by the tests and ``bench/load_test.py`` as a subprocess:

    python tests/scale/scaled_serve.py SPEC --port N [--num-procs 2] [--redis-url URL] [--no-data-endpoint]
        [--session-lifetime-ms MS]
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    from lumen_ext.scale import processes
    from lumen_ext.serving import command, offline

    parser = argparse.ArgumentParser()
    command.configure(parser)
    processes.configure(parser)
    parser.add_argument("--no-data-endpoint", action="store_true")
    parser.add_argument(
        "--session-lifetime-ms",
        type=int,
        help="destroy closed sessions after this long (Bokeh default: 15000)",
    )
    args = parser.parse_args(argv)
    if problem := processes.problem(args):
        print(problem, file=sys.stderr)
        return 2
    use_local_cdn = offline.use_local_cdn

    def wire_in(public_url: str) -> None:
        use_local_cdn(public_url)  # Panel may be imported from here on
        import panel as pn

        from lumen_ext import cache
        from lumen_ext.scale import endpoints

        config = processes.cache_config(args)
        cache.install = lambda *_a, **_k: processes.install_cache(config)
        serve = pn.serve

        def scaled_serve(apps, **kwargs):
            kwargs["extra_patterns"] = list(kwargs.get("extra_patterns") or []) + endpoints.routes(
                args.specs,
                data=not args.no_data_endpoint,
                validate=not args.no_validate,
                data_checks=not args.no_data,
            )
            kwargs["num_procs"] = args.num_procs
            if args.session_lifetime_ms:
                kwargs["unused_session_lifetime_milliseconds"] = args.session_lifetime_ms
                kwargs["check_unused_sessions_milliseconds"] = args.session_lifetime_ms
            server = serve(apps, **kwargs)
            # command.py starts only the IOLoop; Server.start() also starts Bokeh's periodic jobs, without
            # which closed sessions are never discarded (a leak) and keep-alive pings never go out.
            server.start()
            return server

        pn.serve = scaled_serve

    offline.use_local_cdn = wire_in
    return command.run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
