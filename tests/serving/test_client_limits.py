"""The per-connection inbox of lumen_ext.serving.client_limits: which pending browser messages a new one replaces."""

from __future__ import annotations

import json

import pytest
from bokeh.protocol.messages.patch_doc import patch_doc
from bokeh.protocol.messages.server_info_req import server_info_req

from lumen_ext.serving import client_limits
from lumen_ext.serving.client_limits import _Inbox


def change(*props: tuple[str, str], value: object = 1):
    events = [{"kind": "ModelChanged", "model": {"id": m}, "attr": a, "new": value} for m, a in props]
    return patch_doc.assemble(
        json.dumps({"msgid": "x", "msgtype": "PATCH-DOC"}), "{}", json.dumps({"events": events})
    )


def click():
    event = {
        "kind": "MessageSent",
        "msg_type": "bokeh_event",
        "msg_data": {"type": "event", "name": "button_click"},
    }
    return patch_doc.assemble(
        json.dumps({"msgid": "x", "msgtype": "PATCH-DOC"}), "{}", json.dumps({"events": [event]})
    )


def info():
    return server_info_req.assemble(json.dumps({"msgid": "x", "msgtype": "SERVER-INFO-REQ"}), "{}", "{}")


def values(inbox: _Inbox) -> list:
    return [
        [e.get("new", e["kind"]) for e in m.content.get("events", [])] or [m.msgtype]
        for m, _, _ in inbox.pending
    ]


def test_a_flood_of_one_widget_value_keeps_only_the_last():
    inbox = _Inbox()
    for n in range(1500):
        inbox.put(change(("w", "value"), value=n))
    assert values(inbox) == [[1499]]
    assert inbox.bytes == client_limits._size(inbox.pending[0][0])


def test_changes_of_other_properties_in_the_run_are_kept_in_order():
    inbox = _Inbox()
    for n in range(3):
        inbox.put(change(("a", "value"), value=f"a{n}"))
        inbox.put(change(("b", "value"), value=f"b{n}"))
    assert values(inbox) == [["a2"], ["b2"]]
    inbox.put(change(("a", "value"), ("b", "value"), value="ab"))
    assert values(inbox) == [["ab", "ab"]]
    # A pending message that set more than the new one is kept: its other property is not superseded.
    inbox.put(change(("a", "value"), value="a3"))
    assert values(inbox) == [["ab", "ab"], ["a3"]]


@pytest.mark.parametrize("barrier", [click, info], ids=["click", "other message"])
def test_no_change_is_dropped_across_another_message(barrier):
    inbox = _Inbox()
    inbox.put(change(("w", "value"), value="before"))
    inbox.put(barrier())
    inbox.put(change(("w", "value"), value="after"))
    inbox.put(change(("w", "value"), value="last"))
    assert len(inbox.pending) == 3
    assert values(inbox)[0] == ["before"] and values(inbox)[2] == ["last"]


def test_the_bound_counts_what_is_left_after_coalescing_and_closing_empties():
    inbox = _Inbox()
    for _ in range(client_limits.MAX_PENDING):
        inbox.put(info())
    assert not inbox.overflowing()
    inbox.put(info())
    assert inbox.overflowing()
    inbox.close()
    assert inbox.closed and not inbox.pending and inbox.bytes == 0
