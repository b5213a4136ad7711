"""Tabs dropped without a WebSocket close: session counters, gauges and server RSS (issue #19, part 5).

    python bench/abrupt_drops.py [--tabs 200] [--rounds 2] [--batch 10] [--lifetime-ms 1000] [-- SERVE-ARGS...]

Each tab is a real Bokeh WebSocket session (``tests/support/bokeh_client.py``): it loads the page, opens the
WebSocket, pulls the document and waits for its table, then its socket is reset (SO_LINGER 0, no close frame),
as when a browser is killed. ``--batch`` tabs open at once, so the server is busy and their WebSockets arrive
late. After each round the script waits for Bokeh to discard the sessions and ``memory_release`` to run, then
prints ``/metrics``' session counters and the server's RSS: created must equal the page loads, the open-session
gauge must be back at 0, and RSS growing every round would be a leak (one round's growth then a plateau is
the allocators keeping their high-water mark). Arguments after ``--`` go to ``lumen-ext serve`` (e.g.
``-- --without serving.clients`` to compare). Bounded: every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from scale.helpers import metric_values, serve, write_project  # noqa: E402
from support.bokeh_client import Session  # noqa: E402


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def _counters(server) -> tuple[int, int, int]:
    text = server.get("/metrics")[2].decode()

    def total(name: str) -> int:
        return int(sum(metric_values(text, f"lumen_ext_{name}").values()))

    return total("sessions"), total("sessions_created_total"), total("sessions_destroyed_total")


async def _drop(url: str) -> None:
    session = Session(url, "sales")
    await session.open(120)
    stream = session.ws.protocol.stream
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.close()
    session.ws.close()


async def _crowd(url: str, tabs: int, batch: int) -> None:
    for start in range(0, tabs, batch):
        await asyncio.gather(*(_drop(url) for _ in range(min(batch, tabs - start))))


def _settle(server, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while _counters(server)[0] > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(4)  # memory_release runs ~2 s after the last session closed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lifetime-ms", type=int, default=1000)
    args, serve_args = parser.parse_known_args()
    serve_args = [a for a in serve_args if a != "--"]
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp) / "project")
        lifetime = ["--session-lifetime", str(args.lifetime_ms)]
        with serve([project["sales"]], *lifetime, *serve_args, log_dir=Path(tmp)) as server:
            asyncio.run(_crowd(server.url, args.batch, args.batch))  # warm-up: imports, caches
            _settle(server)
            before, loads = _rss_mib(server.proc.pid), args.batch
            print(
                f"after warm-up ({loads} tabs): sessions/created/destroyed {_counters(server)}, RSS {before:.1f} MiB"
            )
            for n in range(1, args.rounds + 1):
                started = time.monotonic()
                asyncio.run(_crowd(server.url, args.tabs, args.batch))
                loads += args.tabs
                _settle(server)
                rss = _rss_mib(server.proc.pid)
                print(
                    f"round {n}: {args.tabs} tabs dropped in {time.monotonic() - started:.0f} s; page loads {loads}, "
                    f"sessions/created/destroyed {_counters(server)}; RSS {rss:.1f} MiB ({rss - before:+.1f} vs warm-up)"
                )
            log = server.log.read_text(errors="replace")
            print(f"server log: {log.count(' ERROR ')} errors, {log.count('Traceback')} tracebacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
