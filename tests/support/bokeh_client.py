"""A minimal client of Bokeh's WebSocket protocol that behaves like a browser tab of a Lumen dashboard.

It loads the page (which creates the session and hands out its token), opens the session's WebSocket with
the ``bokeh`` subprotocol, pulls the document, sends ``document_ready`` (Lumen builds its layouts on load)
and waits until a table holds data. :meth:`Session.choose` then sets the first multi-select filter
(``MultiChoice``) and times the round trip until the table's ``ColumnDataChanged`` arrives: Panel's
debounce, the pipeline, the re-render and the network, as a user would feel it.

A message is three text frames (header, metadata, content), then two frames per buffer; Bokeh's JS
client sends the same. Used by ``bench/load_test.py`` and the scale-out tests, without a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from typing import Any

__all__ = ["Session"]


class Session:
    """One browser tab of a Lumen dashboard whose first multi-select filter it drives."""

    def __init__(self, base: str, app: str):
        self.base, self.app = base.rstrip("/"), app
        self.ws: Any = None
        self.widget: str | None = None
        self._messages: asyncio.Queue[tuple[dict, dict] | None] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    async def open(self, timeout: float) -> None:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        page = await AsyncHTTPClient().fetch(f"{self.base}/{self.app}", request_timeout=timeout)
        token = re.search(r'"token":"([^"]+)"', page.body.decode()).group(1)
        ws_url = self.base.replace("http://", "ws://") + f"/{self.app}/ws"
        request = HTTPRequest(ws_url, headers={"Origin": self.base}, request_timeout=timeout)
        self.ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=1 << 30)
        # Browsers send with TCP_NODELAY (Chromium sets it on every socket). Without it the second and third
        # frame of each Bokeh message wait for the server's delayed ACK: ~40 ms per change no user pays.
        self.ws.protocol.set_nodelay(True)
        self._reader = asyncio.create_task(self._read_messages())
        await self.read(timeout)  # ACK
        await self.send("PULL-DOC-REQ", {})
        await self.read(timeout)
        ready = {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}
        await self.send(
            "PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ready}]}
        )
        deadline = time.monotonic() + timeout
        rendered = False
        while not rendered:  # the layout arrives in patches; ready once the table holds data
            _, content = await self.read(deadline - time.monotonic())
            text = json.dumps(content)
            if self.widget is None and (m := re.search(r'"name": "MultiChoice\d*", "id": "([^"]+)"', text)):
                self.widget = m.group(1)
            rendered = self.widget is not None and '"ColumnDataSource"' in text
        await self.drain(0.3)

    async def send(self, msgtype: str, content: dict) -> None:
        for part in ({"msgid": uuid.uuid4().hex, "msgtype": msgtype}, {}, content):
            await self.ws.write_message(json.dumps(part))

    async def _read_messages(self) -> None:
        # One reader per connection, feeding whole messages to a queue: a timed-out wait on the queue
        # cancels nothing on the socket, so a message is never left half read.
        try:
            while True:
                parts = []
                for _ in range(3):
                    frame = await self.ws.read_message()
                    if frame is None:
                        return
                    parts.append(frame)
                header = json.loads(parts[0])
                for _ in range(2 * header.get("num_buffers", 0)):
                    if await self.ws.read_message() is None:
                        return
                self._messages.put_nowait((header, json.loads(parts[2])))
        finally:
            self._messages.put_nowait(None)

    async def read(self, timeout: float) -> tuple[dict, dict]:
        message = await asyncio.wait_for(self._messages.get(), max(timeout, 0.001))
        if message is None:
            self._messages.put_nowait(None)
            raise ConnectionError("the server closed the WebSocket")
        return message

    async def drain(self, quiet: float) -> None:
        with contextlib.suppress(TimeoutError):
            while True:
                await self.read(quiet)

    async def choose(self, values: list[str], timeout: float) -> float:
        """Set the filter's value; seconds until a table's new data arrived."""
        started = time.perf_counter()
        change = {"kind": "ModelChanged", "model": {"id": self.widget}, "attr": "value", "new": values}
        await self.send("PATCH-DOC", {"events": [change]})
        deadline = time.monotonic() + timeout
        while True:
            _, content = await self.read(deadline - time.monotonic())
            if any(e.get("kind") == "ColumnDataChanged" for e in content.get("events", ())):
                return time.perf_counter() - started

    def close(self) -> None:
        """Close the WebSocket; the reader ends when the server's close frame arrives."""
        if self.ws is not None:
            self.ws.close(1000)
