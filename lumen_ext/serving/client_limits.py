"""Misbehaving clients: a flooding or vanished browser costs the server little, and nothing after it is gone.

Bokeh's ``WSHandler.on_message`` (bokeh/server/views/ws.py) assembles a message from its frames and handles it
before returning, and Tornado reads the connection's next frame only once it returned. A client that writes
1,500 widget changes at once therefore has each of them parsed, applied under the document lock and answered
with an ``OK``, one after another, while Panel re-runs the dashboard for every batch it manages to coalesce: the
IOLoop is shared, so every other session waits behind that queue. And what sits in Tornado's read buffer is
still handled after the client went away.

:func:`queued_on_message` replaces ``on_message``: a complete message goes to a per-connection *inbox*, which one
task per connection drains through Bokeh's own ``_handle``/``_schedule``, in order. Tornado reads on at once, and
in a burst the task lets the reader take in the frames already received before it handles the next message
(:func:`_settle`), so the inbox holds what the client sent and the server has not yet done, and it coalesces: a ``PATCH-DOC`` made only of
``ModelChanged`` events replaces the pending ones, in the run of such messages at the inbox's tail, that only set
properties it sets again. A widget's ``value`` sent 1,500 times needs only its last value applied; no change is
moved across any other message (a button's click, a document request). An inbox still holding more than
:data:`MAX_PENDING` messages or :data:`MAX_PENDING_BYTES` after coalescing closes the connection (code 1008):
that client sends more distinct work than the server can do, and shedding parts of it would leave its page
inconsistent.

:func:`closing_inbox` (``on_close``): once the WebSocket closed, the inbox is emptied and its task ends, and
Panel's debounced changes still pending for the document are dropped when no other connection shows it, so
nothing of a vanished client is processed (and nothing logs errors about its missing connection).

:func:`noting_subscribe` and :func:`cleanup_keeping_unconnected` (sessions): Bokeh counts a session's
``--session-lifetime`` from its creation until a WebSocket connects. On a busy server the page's WebSocket can
arrive after that, and Bokeh then builds a second session for the same page: two ``sessions_created`` and twice
the work for one page load. A session no WebSocket has connected to yet is kept for at least
:data:`CONNECT_GRACE_MS`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from typing import Any

__all__ = [
    "CONNECT_GRACE_MS",
    "MAX_PENDING",
    "MAX_PENDING_BYTES",
    "cleanup_keeping_unconnected",
    "closing_inbox",
    "inbox_stats",
    "noting_subscribe",
    "queued_on_message",
]

log = logging.getLogger(__name__)

# A person produces a few messages per second; a page's start-up a few dozen at once. Past this, after
# coalescing, the client is not a browser at human speed.
MAX_PENDING = 500
# Each message is at most --websocket-max-message-size; this bounds what one connection can park in memory.
MAX_PENDING_BYTES = 16 * 1024 * 1024
# A page's WebSocket normally follows within a second; a busy server can take far longer to answer it.
CONNECT_GRACE_MS = 30_000

# Messages closer than this are a burst: no person clicks twice in 5 ms, a script or a stuck key does.
BURST_GAP_SECONDS = 0.005
# In a burst, before each message is handled the reader gets this many IOLoop turns without a new frame (it takes
# one to three per frame already received)...
SETTLE_TURNS = 8
# ...or for at most this long, so that a client sending without pause is still served.
SETTLE_MAX_SECONDS = 0.25

# Process-wide counters, for tests and probes.
_STATS = {"coalesced": 0, "dropped_after_close": 0, "overflow_closes": 0}


class _Inbox:
    """The messages of one connection waiting to be handled, and the task handling them."""

    def __init__(self) -> None:
        self.pending: deque[tuple[Any, frozenset | None, int]] = deque()
        self.bytes = 0
        self.task: asyncio.Task | None = None
        self.closed = False
        self.frames = 0  # received so far: the task waits until the reader stops finding more
        self.last_arrival = -1.0
        # The newest message came hard on the heels of the previous one: the client is ahead of the server, so the
        # task lets the reader take in what is already there before handling more (never for a lone message:
        # its latency stays as it was).
        self.rushed = False

    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def put(self, message: Any) -> None:
        now = time.monotonic()
        self.rushed = bool(self.pending) or now - self.last_arrival < BURST_GAP_SECONDS
        self.last_arrival = now
        keys, size = _changed_properties(message), _size(message)
        if keys is not None:
            # Within the run of property changes at the tail, a pending message that only set properties this
            # one sets again is dropped. Changes of other properties may thus be applied in another order
            # (Panel's debounce coalesces the same way); nothing moves across any other message (a click, a
            # document request), which ends the run.
            kept: list[tuple[Any, frozenset | None, int]] = []
            while self.pending and self.pending[-1][1] is not None:
                entry = self.pending.pop()
                if entry[1] <= keys:
                    self.bytes -= entry[2]
                    _STATS["coalesced"] += 1
                else:
                    kept.append(entry)
            self.pending.extend(reversed(kept))
        self.pending.append((message, keys, size))
        self.bytes += size

    def overflowing(self) -> bool:
        return len(self.pending) > MAX_PENDING or self.bytes > MAX_PENDING_BYTES

    def close(self) -> None:
        self.closed = True
        _STATS["dropped_after_close"] += len(self.pending)
        self.pending.clear()
        self.bytes = 0


# Keyed by Bokeh's WSHandler; an entry goes with its handler.
_INBOXES: weakref.WeakKeyDictionary[Any, _Inbox] = weakref.WeakKeyDictionary()


def _changed_properties(message: Any) -> frozenset | None:
    """``{(model id, attr)}`` of a PATCH-DOC made only of ModelChanged events, else None (never coalesced)."""
    if message.msgtype != "PATCH-DOC":
        return None
    events = message.content.get("events") if isinstance(message.content, dict) else None
    if not events or message.buffers:
        return None
    keys = set()
    for event in events:
        model = event.get("model") if isinstance(event, dict) else None
        if event.get("kind") != "ModelChanged" or not isinstance(model, dict) or "attr" not in event:
            return None
        keys.add((model.get("id"), event["attr"]))
    return frozenset(keys)


def _size(message: Any) -> int:
    return sum(len(part or "") for part in (message.header_json, message.metadata_json, message.content_json))


def queued_on_message(original: Any, settings: Any) -> Any:
    """``WSHandler.on_message`` that queues complete messages in the connection's coalescing inbox."""

    async def on_message(self: Any, fragment: str | bytes) -> None:
        inbox = _INBOXES.get(self)
        if inbox is None:
            inbox = _INBOXES[self] = _Inbox()
        if inbox.closed or self.connection is None:
            # Closed: nothing more of this client is processed. Not connected yet (its _async_open still
            # running): Bokeh's own handling answers, as before.
            if inbox.closed:
                _STATS["dropped_after_close"] += 1
                return None
            return await original(self, fragment)
        inbox.frames += 1
        try:
            message = await self._receive(fragment)
        except Exception as e:  # as Bokeh's on_message: a parse failure closes this connection only
            log.error("Unhandled exception receiving a message: %r: %r", e, fragment, exc_info=True)
            self._internal_error("server failed to parse a message")
            return None
        if not message:
            return None  # a message's first or second frame
        inbox.put(message)
        if inbox.overflowing():
            _STATS["overflow_closes"] += 1
            log.warning(
                "closing a connection with %d messages pending: it sends faster than it is served",
                len(inbox.pending),
            )
            inbox.close()
            self.close(1008, "too many pending messages")
            return None
        if not inbox.busy():
            inbox.task = asyncio.ensure_future(_drain(self, inbox))
        return None

    return on_message


async def _drain(handler: Any, inbox: _Inbox) -> None:
    """Handle the inbox's messages in order, as Bokeh's ``on_message`` did each one, until it is empty or closed."""
    from bokeh.server.views import ws

    while inbox.pending and not inbox.closed:
        if inbox.rushed:
            await _settle(inbox)
            if inbox.closed or not inbox.pending:
                return
        message, _, size = inbox.pending.popleft()
        inbox.bytes -= size
        try:
            if ws._message_test_port is not None:
                ws._message_test_port.received.append(message)
            work = await handler._handle(message)
            if work and not inbox.closed:
                await handler._schedule(work)
        except Exception as e:
            if inbox.closed:  # the connection went away while its message was handled: nothing to tell anyone
                return
            log.error("Handler or its work threw an exception: %r: %r", e, message, exc_info=True)
            handler._internal_error("server failed to handle a message")


async def _settle(inbox: _Inbox) -> None:
    """Wait until the connection's reader found nothing new for a few IOLoop turns (bounded in time).

    Tornado reads the frames already received one per turn or so; a flood in the socket buffer is read in, and
    coalesced, before its last change is applied, rather than interleaved with applying each one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_MAX_SECONDS
    seen, quiet = inbox.frames, 0
    while quiet < SETTLE_TURNS and loop.time() < deadline and not inbox.closed:
        await asyncio.sleep(0)
        quiet = quiet + 1 if inbox.frames == seen else 0
        seen = inbox.frames


def closing_inbox(original: Any, settings: Any) -> Any:
    """``WSHandler.on_close`` that first drops the connection's pending messages and its document's queued changes."""

    def on_close(self: Any) -> None:
        inbox = _INBOXES.get(self)
        if inbox is None:
            inbox = _INBOXES[self] = _Inbox()
        inbox.close()
        connection = self.connection
        session = getattr(connection, "_session", None) if connection is not None else None
        original(self)
        if session is not None and session.connection_count == 0 and not session.destroyed:
            _drop_queued_changes(session.document)

    return on_close


def _drop_queued_changes(doc: Any) -> None:
    """Forget Panel's debounced changes of ``doc``: ``Syncable._change_coroutine`` skips an event id not listed."""
    import panel as pn

    pn.state._change_callbacks.pop(doc, None)


_CONNECTED: weakref.WeakSet[Any] = weakref.WeakSet()


def noting_subscribe(original: Any, settings: Any) -> Any:
    """``ServerSession.subscribe`` that notes the session once had a connection."""

    def subscribe(self: Any, connection: Any) -> None:
        _CONNECTED.add(self)
        original(self, connection)

    return subscribe


def cleanup_keeping_unconnected(original: Any, settings: Any) -> Any:
    """``ApplicationContext._cleanup_sessions`` that keeps sessions whose page has not connected yet for a while."""

    async def _cleanup_sessions(self: Any, unused_session_linger_milliseconds: int) -> None:
        grace = max(CONNECT_GRACE_MS, unused_session_linger_milliseconds)
        waiting = [
            s
            for s in list(self._sessions.values())
            if s not in _CONNECTED
            and s.connection_count == 0
            and s.milliseconds_since_last_unsubscribe < grace
        ]
        # Bokeh's own mechanism for "in use, do not discard" (it blocks expiration while a callback holds the lock).
        for session in waiting:
            session.block_expiration()
        try:
            await original(self, unused_session_linger_milliseconds)
        finally:
            for session in waiting:
                session.unblock_expiration()

    return _cleanup_sessions


def inbox_stats() -> dict[str, int]:
    """Messages coalesced, dropped after a close, and connections closed for overflowing, in this process."""
    return dict(_STATS)
