"""Each Bokeh message Panel sends to a browser goes out in one socket write instead of one per frame: ``install()``.

A Bokeh protocol message is three WebSocket frames (header, metadata, content) plus two per binary buffer (a
table's numeric columns are buffers). Panel's ``dispatch_tornado`` (panel/io/document.py), which sends every
document patch of a served session, writes them with one ``WebSocketHandler.write_message`` each, and Tornado's
``IOStream.write`` tries to send each frame at once: one ``send`` system call per frame, 9-15 of them per filter
change. In the load test that was the largest single self-time of the server (``IOStream.write_to_fd``, 7% of its
time). (Nor does anyone turn Nagle's algorithm off on the server's side, so a frame written while the previous one
is not yet acknowledged may also wait for the browser's ACK.)

``install()`` wraps ``dispatch_tornado`` so that, while it runs, the frames Tornado builds are collected instead of
written, then handed to the stream in one ``write``, in the same order: the browser receives the same bytes, frame
for frame; only their packaging into TCP segments changes. Tornado still frames, masks and compresses each message
(``WebSocketProtocol13._write_frame``); only its final ``self.stream.write(frame)`` is redirected, for the duration
of one synchronous call on the IOLoop's thread, so no other writer can interleave. The futures Panel awaits resolve
when the combined write completes (or fail with its error), as each frame's would have.
"""

from __future__ import annotations

from typing import Any

from lumen_ext import hooks

__all__ = ["dispatch_in_one_write"]


class _FrameBatch:
    """Stands in for a WebSocket connection's stream: collects frames, then writes them to it at once."""

    def __init__(self, stream: Any) -> None:
        from tornado.concurrent import Future

        self.stream = stream
        self.frames: list[bytes] = []
        self.done: Future[None] = Future()

    def __getattr__(self, name: str) -> Any:  # closed(), error, ...: what Tornado asks between frames
        return getattr(self.stream, name)

    def write(self, frame: bytes) -> Any:
        if self.stream.closed():  # as IOStream.write raises before the first frame, so does the batch
            from tornado.iostream import StreamClosedError

            raise StreamClosedError(real_error=self.stream.error)
        self.frames.append(frame)
        return self.done

    def flush(self) -> None:
        if not self.frames:
            return
        from tornado.concurrent import chain_future

        try:
            written = self.stream.write(b"".join(self.frames))
        except Exception as exc:  # closed in between: the frames' futures fail as their writes would have
            self.done.set_exception(exc)
            return
        chain_future(written, self.done)


def dispatch_in_one_write(original: Any, settings: Any) -> Any:
    """``dispatch_tornado`` whose frames reach the socket in one write."""

    def dispatch_tornado(conn: Any, events: Any = None, msg: Any = None) -> Any:
        ws_conn = getattr(conn._socket, "ws_connection", None)
        stream = getattr(ws_conn, "stream", None)
        if stream is None:  # not connected (yet): Panel's function decides what to do
            return original(conn, events, msg)
        batch = _FrameBatch(stream)
        try:
            with hooks.shadow("serving.websocket-writes.stream", ws_conn, batch):
                futures = original(conn, events, msg)
        finally:
            batch.flush()
        return futures

    return dispatch_tornado
