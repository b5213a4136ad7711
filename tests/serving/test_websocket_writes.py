"""`lumen_ext.serving.websocket_writes`: a Bokeh message reaches the socket in one write, with the same frames.

Over a real Tornado WebSocket on loopback, Panel's ``dispatch_tornado`` sends a Bokeh PATCH-DOC with binary buffers
(a ColumnDataSource's new columns) and a message without; the client reads every frame. With and without the fix it
must read the same frames in the same order; with it, the server's stream was written once per message. Run in a
fresh interpreter: Panel's import and the patch are process-wide.
"""

from __future__ import annotations

from support.probe import run_python

SCRIPT = """
import asyncio, json, types, warnings
warnings.simplefilter('ignore')
import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div
from bokeh.protocol import Protocol
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler, websocket_connect
from panel.io import document as panel_document
from lumen_ext import hooks

opened = asyncio.Queue()

class Handler(WebSocketHandler):
    def open(self):
        opened.put_nowait(self)

def messages():
    doc = Document()
    source, div = ColumnDataSource(data={'x': np.arange(3.0), 'y': np.arange(3)}), Div(text='a')
    doc.add_root(source)
    doc.add_root(div)
    events = []
    doc.on_change(lambda event: events.append(event))
    source.data = {'x': np.arange(4.0) * 2, 'y': np.arange(4) + 1}
    div.text = 'b'
    protocol = Protocol()
    return [protocol.create('PATCH-DOC', [events[0]]), protocol.create('PATCH-DOC', [events[1]])]

MESSAGES = messages()  # the same messages (and model ids) for both sessions

async def session(patched):
    (hooks.enable if patched else hooks.disable)("serving.websocket-writes")
    sockets = bind_sockets(0, '127.0.0.1')
    server = HTTPServer(Application([('/ws', Handler)]))
    server.add_sockets(sockets)
    client = await websocket_connect(f'ws://127.0.0.1:{sockets[0].getsockname()[1]}/ws')
    handler = await opened.get()
    writes = []
    stream = handler.ws_connection.stream
    real_write = stream.write
    def counted_write(data):
        writes.append(len(data))
        return real_write(data)
    stream.write = counted_write
    sent = []
    for msg in MESSAGES:
        futures = panel_document.dispatch_tornado(types.SimpleNamespace(_socket=handler), msg=msg)
        await asyncio.gather(*futures)
        sent.append(len(futures))
    frames = []
    while len(frames) < sum(sent):
        frame = await asyncio.wait_for(client.read_message(), 10)
        frames.append(frame.hex() if isinstance(frame, bytes) else frame)
    written = list(writes)  # before the close handshake's own frame
    client.close()
    server.stop()
    return {'frames': frames, 'writes': written, 'sent': sent}

async def main():
    return {'panel': await session(False), 'patched': await session(True)}

print(json.dumps(asyncio.run(main())))
"""


def test_panel_writes_each_frame_on_its_own():
    code = (
        "import inspect, json\n"
        "from panel.io import document\n"
        "src = inspect.getsource(document.dispatch_tornado)\n"
        "print(json.dumps({'frames': src.count('WebSocketHandler.write_message(socket, ') == 5,\n"
        "                  'looked_up': 'futures += dispatch_tornado(' in inspect.getsource(document)}))"
    )
    assert run_python(code) == {"frames": True, "looked_up": True}, (
        "Panel changed how it writes Bokeh messages: review lumen_ext.serving.websocket_writes"
    )


def test_same_frames_in_one_write_per_message():
    result = run_python(SCRIPT)
    panel, patched = result["panel"], result["patched"]
    assert patched["frames"] == panel["frames"]
    assert panel["sent"] == [7, 3]  # header, metadata, content and two frames per buffer (x and y)
    assert len(panel["writes"]) == 10
    assert len(patched["writes"]) == 2 and sum(patched["writes"]) == sum(panel["writes"])
