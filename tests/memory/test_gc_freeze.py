"""The start-up heap leaves the collector's full passes (lumen_ext.serving.gc_freeze)."""

from __future__ import annotations

from support.probe import run_python


def test_frozen_startup_objects_are_skipped_and_later_cycles_still_collected():
    # In a child process: freezing the test runner's own heap would outlive this test.
    code = (
        "import gc, json, weakref\n"
        "from lumen_ext.serving.gc_freeze import freeze_startup_heap\n"
        "class Node: pass\n"
        "before = len(gc.get_objects())\n"
        "frozen = freeze_startup_heap()\n"
        "tracked_after = len(gc.get_objects())\n"
        "a, b = Node(), Node(); a.b, b.a = b, a; ref = weakref.ref(a); del a, b\n"
        "gc.collect()\n"
        "print(json.dumps({'frozen': frozen, 'count': gc.get_freeze_count(), 'before': before,\n"
        "                  'tracked_after': tracked_after, 'cycle_collected': ref() is None}))\n"
    )
    facts = run_python(code)
    assert facts["frozen"] == facts["count"] >= facts["before"] // 2
    assert facts["tracked_after"] < 1000  # gc.get_objects() no longer lists what was frozen
    assert facts["cycle_collected"]
