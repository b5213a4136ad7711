"""Misbehaving clients against a real `lumen-ext serve` (lumen_ext.serving.client_limits).

A flooding client writes 1,500 filter changes as fast as it can, then vanishes without a WebSocket close (its
socket is reset, as when a browser process is killed); a well-behaved session meanwhile keeps changing its own
filter and times each change until its table's new data arrives. Then tabs are dropped the same way in bulk
and the session counters and gauges are read. Every client is a real Bokeh WebSocket session
(``tests/support/bokeh_client.py``); every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import struct
import time
import uuid

import pytest
from scale.helpers import metric_values, serve
from support.bokeh_client import Session

pytestmark = pytest.mark.slow

REGIONS = ["East", "North", "South", "West"]
FLOOD = 1_500
SAMPLES = 25  # per median; each is one change and its round trip (~50 ms here)


@pytest.fixture(scope="module")
def server(project, tmp_path_factory):
    # Closed sessions are discarded after 0.5 s, so a test sees them go.
    with serve([project["sales"]], "--session-lifetime", "500", log_dir=tmp_path_factory.mktemp("logs")) as s:
        yield s


def _totals(server) -> dict[str, float]:
    text = server.get("/metrics")[2].decode()
    names = ("sessions", "sessions_created_total", "sessions_destroyed_total", "interactions_total")
    found = {name: sum(metric_values(text, f"lumen_ext_{name}").values()) for name in names}
    for name in ("coalesced", "dropped_after_close", "overflow_closes"):
        found[name] = sum(metric_values(text, f"lumen_ext_client_messages_{name}_total").values())
    return found


def _reset(session: Session) -> None:
    """Drop the connection as a killed browser does: no close frame, the socket reset (SO_LINGER 0)."""
    stream = session.ws.protocol.stream
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.close()
    session.ws.close()  # the client object's own bookkeeping; nothing more reaches the server


async def _latencies(session: Session, count: int, start: int = 0) -> list[float]:
    # Alternate two selections so every change has an effect (a repeated value would send nothing back); a
    # second series goes on from ``start``, where the first ended.
    picks = ([REGIONS[0]], [REGIONS[1], REGIONS[2]])
    return [await session.choose(picks[n % 2], 30) for n in range(start, start + count)]


async def _flood(session: Session) -> None:
    """Write FLOOD changes of the filter as fast as the socket takes them, then reset the connection."""
    frames = []
    for n in range(FLOOD):
        change = {"kind": "ModelChanged", "model": {"id": session.widget}, "attr": "value"}
        change["new"] = [REGIONS[n % len(REGIONS)]]
        for part in ({"msgid": uuid.uuid4().hex, "msgtype": "PATCH-DOC"}, {}, {"events": [change]}):
            frames.append(json.dumps(part))
    await asyncio.wait_for(asyncio.gather(*(session.ws.write_message(f) for f in frames)), 30)
    _reset(session)


def test_a_flooding_client_neither_slows_another_session_nor_outlives_its_connection(server):
    async def scenario() -> tuple[list[float], list[float], dict, dict]:
        polite, flooder = Session(server.url, "sales"), Session(server.url, "sales")
        await polite.open(60)
        await flooder.open(60)  # before the baseline: building a dashboard is not what is measured
        baseline = await _latencies(polite, SAMPLES)
        before = _totals(server)
        flood = asyncio.create_task(_flood(flooder))
        during = await _latencies(polite, SAMPLES, start=SAMPLES)
        await flood
        after = _totals(server)
        polite.close()
        return baseline, during, before, after

    log_start = len(server.log.read_text(errors="replace"))
    baseline, during, before, after = asyncio.run(scenario())
    # The flooder's session is discarded 0.5 s after its connection went (bounded wait).
    deadline = time.monotonic() + 20
    while _totals(server)["sessions"] > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    log = server.log.read_text(errors="replace")[log_start:]

    ratio = statistics.median(during) / statistics.median(baseline)
    shown = f"baseline {sorted(baseline)}\nduring {sorted(during)}"
    print(
        f"median {statistics.median(baseline) * 1000:.1f} -> {statistics.median(during) * 1000:.1f} ms"
    )  # -s
    assert ratio <= 1.5, f"median latency x{ratio:.2f} during the flood\n{shown}"
    # Coalesced: the flood's 1,500 changes of one property cost a handful of dashboard updates, not one each.
    flood_updates = after["interactions_total"] - before["interactions_total"] - SAMPLES
    assert flood_updates <= 5, (flood_updates, after)
    assert after["coalesced"] - before["coalesced"] >= 100, after
    assert _totals(server)["sessions"] == 0
    for bad in ("ERROR", "Traceback", "AssertionError"):
        assert bad not in log, log[-4000:]


def test_abruptly_dropped_sessions_are_counted_once_and_discarded(server):
    """Page loads = sessions created, even on a server too busy to answer each WebSocket at once; all discarded."""
    tabs, batch = 20, 10

    async def one() -> None:
        session = Session(server.url, "sales")
        await session.open(60)
        _reset(session)

    async def crowd() -> None:
        for _ in range(tabs // batch):  # ten pages at once: their WebSockets wait for the others' builds
            await asyncio.gather(*(one() for _ in range(batch)))

    before = _totals(server)
    asyncio.run(crowd())
    deadline = time.monotonic() + 30
    while _totals(server)["sessions"] > before["sessions"] and time.monotonic() < deadline:
        time.sleep(0.2)
    after = _totals(server)
    assert after["sessions"] == before["sessions"], after
    assert after["sessions_created_total"] - before["sessions_created_total"] == tabs, after
    assert after["sessions_destroyed_total"] - before["sessions_destroyed_total"] == tabs, after
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and " ERROR " not in log, log[-4000:]


def test_a_client_far_ahead_of_the_server_is_disconnected(server):
    """Messages that cannot be coalesced (here SERVER-INFO-REQ) pile up past the bound: close code 1008."""
    from lumen_ext.serving.client_limits import MAX_PENDING

    async def scenario() -> int | None:
        session = Session(server.url, "sales")
        await session.open(60)
        frames = []
        for _ in range(4 * MAX_PENDING):
            for part in ({"msgid": uuid.uuid4().hex, "msgtype": "SERVER-INFO-REQ"}, {}, {}):
                frames.append(json.dumps(part))
        # The server may close while the last frames are still being written.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*(session.ws.write_message(f) for f in frames)), 30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                await session.read(deadline - time.monotonic())
            except ConnectionError:
                break
        code = session.ws.close_code
        session.close()
        return code

    before = _totals(server)
    assert asyncio.run(scenario()) == 1008
    assert _totals(server)["overflow_closes"] == before["overflow_closes"] + 1
