"""One SIGTERM to the main PID of `lumen-ext serve --num-procs 2` ends every worker, each with one log line; a
worker whose parent was killed stops by itself; a single process stops on SIGTERM with a close frame to its viewers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time

from scale.helpers import serve


def _children(pid: int) -> list[int]:
    from lumen_ext.serving.shutdown import _children

    return _children(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone as far as serving goes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if _alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


def test_sigterm_to_the_parent_stops_every_worker(project, tmp_path):
    with serve([project["sales"]], log_dir=tmp_path, processes=2) as server:
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(15)
        left = _wait_gone(workers, 15 - (time.monotonic() - started))
        elapsed = time.monotonic() - started
        log = server.log.read_text()
    assert left == [] and elapsed < 10, log[-3000:]
    assert server.proc.returncode == 0, log[-3000:]
    assert len(re.findall(r"lumen-ext: stopped \(SIGTERM\)", log)) == 2, log[-3000:]
    assert "restarting" not in log and "Traceback" not in log


def test_a_worker_whose_parent_died_stops_by_itself(project, tmp_path):
    with serve([project["sales"]], log_dir=tmp_path, processes=2) as server:
        workers = _children(server.proc.pid)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(5)
        left = _wait_gone(workers, 10)
        log = server.log.read_text()
    assert left == [], log[-3000:]
    assert len(re.findall(r"lumen-ext: stopped \(the parent process exited\)", log)) == 2, log[-3000:]


def test_a_single_process_closes_its_sessions_on_sigterm(project, tmp_path):
    from tornado.websocket import websocket_connect

    with serve([project["sales"]], log_dir=tmp_path) as server:
        status, _, page = server.get("/sales")
        assert status == 200
        # The page's session id and token, as the browser's BokehJS would use them.
        token = re.search(rb'"token":\s*"([^"]+)"', page) or re.search(rb"token=([\w.-]+)", page)
        assert token is not None, page[:500]

        async def connect_then_stop() -> tuple[int | None, str | None]:
            ws_url = server.url.replace("http", "ws") + "/sales/ws"
            ws = await websocket_connect(ws_url, subprotocols=["bokeh", token.group(1).decode()])
            server.proc.send_signal(signal.SIGTERM)
            try:
                while (await ws.read_message()) is not None:
                    pass  # the server's pending messages, then the close frame
                return ws.close_code, ws.close_reason
            finally:
                ws.close()

        code, reason = asyncio.run(asyncio.wait_for(connect_then_stop(), 20))
        server.proc.wait(15)
        log = server.log.read_text()
    assert (code, reason) == (1001, "server shutting down"), log[-3000:]
    assert server.proc.returncode == 0
    assert re.search(r"lumen-ext: stopped \(SIGTERM\): 1 session\(s\) closed", log), log[-3000:]
    assert "Traceback" not in log


def test_no_stray_server_process_is_left(tmp_path):
    """The checks above found every worker by its parent: prove the lookup sees a real child."""
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert child.pid in _children(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_a_message_over_the_size_limit_closes_only_that_connection(project, tmp_path):
    """A browser message past --websocket-max-message-size (default 4 MiB) is refused by Tornado before Bokeh
    reads it: Tornado sends 1009 (message too big) and aborts the socket, so the client sees 1009 or, when the
    abort wins, no code; a message Bokeh read and rejected would close with its protocol-error code 10001 and log
    it. The server keeps serving."""
    from tornado.websocket import websocket_connect

    with serve([project["sales"]], "--websocket-max-message-size", "65536", log_dir=tmp_path) as server:
        page = server.get("/sales")[2]
        token = re.search(rb'"token":\s*"([^"]+)"', page)
        assert token is not None

        async def flood() -> int | None:
            ws = await websocket_connect(
                server.url.replace("http", "ws") + "/sales/ws",
                subprotocols=["bokeh", token.group(1).decode()],
            )
            try:
                await ws.write_message(b"x" * 100_000, binary=True)
                while (await ws.read_message()) is not None:
                    pass  # until the server drops the connection (else wait_for times out)
                return ws.close_code
            finally:
                ws.close()

        assert asyncio.run(asyncio.wait_for(flood(), 20)) in (1009, None)
        assert server.get("/healthz")[0] == 200 and server.get("/sales")[0] == 200
        log = server.log.read_text()
    assert "websocket_max_message_size set to 65536 bytes" in log
    assert "protocol error" not in log
