"""Busy indicators follow their own session under `lumen-ext serve` (lumen_ext.serving.busy_indicators).

Panel's ``_update_busy`` sets every session's indicator when any session is busy; served, that is two patches
to every open session per interaction. Against a real server with two Bokeh WebSocket clients: a change in
session A turns A's spinner on and off and sends nothing at all to session B. The Panel code the fix replaces
is pinned, so a Panel upgrade that changes it fails here instead of silently bypassing the fix.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from support.probe import run_python

pytestmark = pytest.mark.slow


async def _messages(session, until: asyncio.Event, grace: float, limit: float) -> list[dict]:
    """Every patch event ``session`` receives until ``until`` is set plus ``grace`` s (at most ``limit`` s)."""
    events: list[dict] = []
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        if until.is_set():
            deadline = min(deadline, time.monotonic() + grace)
            until = asyncio.Event()  # the grace period is armed once
        try:
            _, content = await session.read(min(left, 0.1))
        except TimeoutError:
            continue
        events.extend(content.get("events", ()))
    return events


async def _until_spinner_off(session, done: asyncio.Event, limit: float) -> list[dict]:
    """Patch events of ``session`` until its spinner turned on and back off (or ``limit`` s)."""
    events: list[dict] = []
    deadline = time.monotonic() + limit
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, content = await session.read(left)
            except TimeoutError:
                break
            events.extend(content.get("events", ()))
            if any(states[-1:] == [False] and True in states for states in _spinner_states(events).values()):
                break
    finally:
        done.set()
    return events


def _spinner_states(events: list[dict]) -> dict[str, list[bool]]:
    """Model id -> the spinning states it was sent, for Panel's LoadingSpinner (``spin`` in its classes)."""
    states: dict[str, list[bool]] = {}
    for event in events:
        classes = event.get("new")
        if event.get("kind") == "ModelChanged" and event.get("attr") == "css_classes" and "loader" in classes:
            states.setdefault(event["model"]["id"], []).append("spin" in classes)
    return states


def test_an_interaction_only_patches_its_own_session(served):
    from support.bokeh_client import Session

    async def two_tabs() -> tuple[list[dict], list[dict]]:
        a, b = Session(served.url, "sales"), Session(served.url, "sales")
        try:
            await asyncio.gather(a.open(60), b.open(60))
            change = {"kind": "ModelChanged", "model": {"id": a.widget}, "attr": "value", "new": ["West"]}
            a_done = asyncio.Event()
            await a.send("PATCH-DOC", {"events": [change]})
            # B listens for as long as A's round trip takes (~0.1 s here, bounded by 30 s), plus 1 s.
            return await asyncio.gather(_until_spinner_off(a, a_done, 30), _messages(b, a_done, 1.0, 31))
        finally:
            a.close()
            b.close()
            await asyncio.sleep(0.3)  # the close handshakes go out while the loop runs

    seen_by_a, seen_by_b = asyncio.run(two_tabs())
    assert any(e.get("kind") == "ColumnDataChanged" for e in seen_by_a), "A's table got no new data"
    assert list(_spinner_states(seen_by_a).values()) == [[True, False]], (
        "A's spinner did not turn on, then off"
    )
    assert seen_by_b == []


def test_panel_still_broadcasts_busy_to_every_indicator():
    """The Panel code the fix builds on: one process-wide list, set on every flip, events added before curdoc."""
    facts = run_python(
        "import inspect, json\n"
        "from panel.io.state import _state\n"
        "from panel.reactive import Syncable\n"
        "update = inspect.getsource(_state._update_busy)\n"
        "sync = inspect.getsource(_state.sync_busy)\n"
        "add = inspect.getsource(_state._add_busy_event)\n"
        "bokeh = inspect.getsource(Syncable._process_bokeh_event)\n"
        "print(json.dumps({\n"
        "  'broadcast': 'for indicator in self._indicators' in update and 'indicator.value = self.busy' in update,\n"
        "  'appends': 'self._indicators.append(indicator)' in sync,\n"
        "  'counter': '_busy_counter = [*self._busy_counter, (event_id' in add,\n"
        "  'added_before_curdoc': bokeh.index('_add_busy_event') < bokeh.index('set_curdoc(doc)'),\n"
        "}))"
    )
    assert facts == {"broadcast": True, "appends": True, "counter": True, "added_before_curdoc": True}, (
        "Panel changed its busy indicator code: review lumen_ext.serving.busy_indicators"
    )


def test_outside_a_session_indicators_stay_process_wide():
    """A notebook or script (no server session) keeps Panel's behaviour; install is idempotent."""
    facts = run_python(
        "import json\n"
        "import panel as pn\n"
        "from panel.io.state import _state\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.serving import busy_indicators\n"
        "hooks.enable('serving.busy'); first = _state.sync_busy\n"
        "hooks.enable('serving.busy')\n"
        "spinner = pn.indicators.LoadingSpinner()\n"
        "pn.state.sync_busy(spinner)\n"
        "pn.state._add_busy_event('e1'); on = spinner.value\n"
        "pn.state._remove_busy_event('e1'); off = spinner.value\n"
        "print(json.dumps({'idempotent': _state.sync_busy is first, 'listed': spinner in pn.state._indicators,\n"
        "                  'on': on, 'off': off, 'documents': busy_indicators.session_indicators()}))"
    )
    assert facts == {"idempotent": True, "listed": True, "on": True, "off": False, "documents": 0}
